"""The disk fault layer: a FUSE file system over a node's data directory that can lose what was not synced.

``python -m harness.cluster.fuselayer BACKING MOUNT CONTROL`` mounts ``MOUNT`` as a pass-through view of
``BACKING`` (every operation is done on the backing directory at once, so what the node reads is what it
wrote) and keeps, beside it, what a power loss would take back -- LazyFS's idea, done as an undo log:

- file data: before a ``write``, ``truncate`` or ``fallocate`` changes a file, the bytes it overwrites (and
  the file's size at its last sync) are recorded; ``fsync`` and ``fdatasync`` of that file (any descriptor of
  it, also ``msync(MS_SYNC)`` of a shared mapping, which reaches FUSE as fsync) drop its record: synced.
- names: ``create``, ``mknod``, ``mkdir``, ``unlink``, ``rename`` and ``symlink`` are recorded per parent
  directory (an unlinked file or one replaced by a rename is kept aside, not deleted); ``fsync`` of the
  directory (``fsyncdir``) makes them durable. ``rmdir`` and ``link``, ``chmod``, ``chown``, ``utimens`` are
  durable at once (no target here depends on them).
- ``lose`` (the power goes): first ``off`` -- from then on every operation is refused with EIO (what the
  kernel still writes back from a killed process's shared mappings is lost, as dirty pages are at a power
  loss) -- then the name operations are undone newest first, then each file's data is put back byte for byte
  as it was at its last sync and cut to its synced size (a directory whose creation is undone takes its
  whole subtree with it). ``lose journaled`` keeps every name change made before the latest fsync of
  anything, as journaling file systems (ext4 with data=ordered, XFS) do in practice; plain ``lose`` is
  POSIX-strict. ``on`` serves again. So exactly the unsynced writes
  are lost (``tests/unit/cluster/test_fuselayer.py`` proves it byte for byte).
- ``full on`` / ``full off``: while on, ``write``, ``create``, ``mkdir``, ``mknod``, ``symlink`` and growing a
  file fail with ENOSPC (the disk-full fault); reads, syncs and deletes work.

Mapped files: the kernel serves ``mmap`` from its page cache and writes dirty pages back through ``write``,
so they count as writes when they arrive, and are synced by ``msync(MS_SYNC)``/``fsync``. Attribute and entry
caches are off (timeouts 0) so that a node restarted after a loss sees the files' sizes and names as they are.

The control socket (``@name``: an abstract socket) speaks one line per request (``lose``, ``lose journaled``,
``on``, ``full on``, ``full off``, ``stats``) and answers one JSON line. The process prints ``ready`` once
mounted; it unmounts on SIGTERM. A layer left mounted by a killed run is unmounted by ``chaos clean``
(``harness.cluster.rundir.unmount_below``).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STASH = ".chaos-layer-stash"  # inside BACKING: files unlinked or replaced but not yet durable


@dataclass
class FileUndo:
    """What restores one file to its last synced state: its size then, and overwritten ranges in order."""

    size: int
    ranges: list[tuple[int, bytes]] = field(default_factory=list)


@dataclass
class NameOp:
    """One not yet durable change of names: ``what`` is create, unlink or rename; ``stash``: the kept file."""

    what: str
    path: str
    new: str = ""
    stash: str = ""
    seq: int = 0


class Layer:
    """The undo bookkeeping over ``backing``; the FUSE operations call it under one lock."""

    def __init__(self, backing: str) -> None:
        self.root = os.path.realpath(backing)
        os.makedirs(os.path.join(self.root, STASH), exist_ok=True)
        self.files: dict[str, FileUndo] = {}  # relative path -> undo of its data
        self.names: list[NameOp] = []
        self.powered = True
        self.full = False
        self.lock = threading.RLock()
        self._stashed = 0
        self.lost_bytes = 0
        self.losses = 0
        self.seq = 0  # name operations so far
        self.last_sync = 0  # the seq of the last name operation before the latest fsync of anything

    def note(self, op: NameOp) -> None:
        self.seq += 1
        op.seq = self.seq
        self.names.append(op)

    def any_sync(self) -> None:
        self.last_sync = self.seq

    def real(self, path: str) -> str:
        rel = path.lstrip("/")
        if rel.split("/", 1)[0] == STASH:
            raise OSError(errno.ENOENT, "no such file")
        return os.path.join(self.root, rel)

    def check_power(self) -> None:
        if not self.powered:
            raise OSError(errno.EIO, "the disk has no power")

    def check_space(self) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, "no space left on device")

    # data

    def before_change(self, path: str, offset: int, length: int) -> None:
        """Record the bytes ``[offset, offset+length)`` of ``path`` before they change, and its size."""
        real = self.real(path)
        size = os.path.getsize(real)
        undo = self.files.get(path)
        if undo is None:
            undo = self.files[path] = FileUndo(size)
        end = min(size, offset + length)
        if end > offset:
            with open(real, "rb") as fh:
                fh.seek(offset)
                undo.ranges.append((offset, fh.read(end - offset)))

    def synced(self, path: str) -> None:
        self.files.pop(path, None)

    def dir_synced(self, path: str) -> None:
        """The names in directory ``path`` are durable: drop their records (and the files kept aside)."""
        folder = path.rstrip("/") or "/"
        keep = []
        for op in self.names:
            parent = os.path.dirname(op.new if op.what == "rename" else op.path) or "/"
            if parent == folder:
                if op.stash:
                    _remove(os.path.join(self.root, op.stash))
                continue
            keep.append(op)
        self.names = keep

    def stash(self, path: str) -> str:
        """Move ``path`` aside (it is being unlinked or replaced); returns where it went."""
        self._stashed += 1
        rel = f"{STASH}/{self._stashed}"
        os.rename(self.real(path), os.path.join(self.root, rel))
        if path in self.files:
            self.files[rel] = self.files.pop(path)
        return rel

    def move_undo(self, old: str, new: str) -> None:
        if old in self.files:
            self.files[new] = self.files.pop(old)

    # the power loss

    def lose(self, names: str = "strict") -> dict[str, Any]:
        """Undo every change not synced: names newest first, then each file's data. Returns what went.

        ``names``: ``strict`` (POSIX: a name change is durable once its directory is fsync'd) or
        ``journaled`` (as ext4 with data=ordered and XFS behave: any fsync also commits every name change
        made before it)."""
        self.powered = False
        undone, created_bytes = 0, 0
        if names == "journaled":
            self.names = [op for op in self.names if op.seq > self.last_sync]
        for op in reversed(self.names):
            undone += 1
            if op.what == "create":
                real = self.real(op.path)
                if os.path.isfile(real) and not os.path.islink(real):
                    created_bytes += os.path.getsize(real)
                elif os.path.isdir(real) and not os.path.islink(real):
                    # its entry in its parent is gone: so is everything below it, synced or not
                    inside = op.path.rstrip("/") + "/"
                    for key in [k for k in self.files if k.startswith(inside)]:
                        del self.files[key]
                    created_bytes += sum(p.stat().st_size for p in Path(real).rglob("*") if p.is_file())
                    shutil.rmtree(real, ignore_errors=True)
                _remove(real)
                self.files.pop(op.path, None)
            elif op.what == "unlink":
                os.rename(os.path.join(self.root, op.stash), self.real(op.path))
                self.move_undo(op.stash, op.path)
            elif op.what == "rename":
                os.rename(self.real(op.new), self.real(op.path))
                self.move_undo(op.new, op.path)
                if op.stash:
                    os.rename(os.path.join(self.root, op.stash), self.real(op.new))
                    self.move_undo(op.stash, op.new)
        self.names = []
        files, lost = 0, 0
        for path, undo in self.files.items():
            real = os.path.join(self.root, path.lstrip("/"))
            if not os.path.exists(real):
                continue
            files += 1
            lost += max(0, os.path.getsize(real) - undo.size)
            fd = os.open(real, os.O_WRONLY)
            try:
                for offset, old in reversed(undo.ranges):
                    os.pwrite(fd, old, offset)
                    lost += len(old)
                os.ftruncate(fd, undo.size)
            finally:
                os.close(fd)
        self.files = {}
        self.lost_bytes += lost
        self.losses += 1
        self.lost_bytes += created_bytes
        return {"files": files, "names": undone, "bytes": lost + created_bytes}

    def stats(self) -> dict[str, Any]:
        return {
            "powered": self.powered,
            "full": self.full,
            "unsynced_files": len(self.files),
            "unsynced_names": len(self.names),
            "losses": self.losses,
            "lost_bytes": self.lost_bytes,
        }

    def control(self, line: str) -> dict[str, Any]:
        with self.lock:
            cmd = line.strip()
            if cmd in ("lose", "lose strict", "lose journaled"):
                return {"ok": True, **self.lose(cmd.split()[1] if " " in cmd else "strict")}
            if cmd == "on":
                self.powered = True
            elif cmd in ("full on", "full off"):
                self.full = cmd == "full on"
            elif cmd != "stats":
                return {"ok": False, "error": f"unknown command {cmd!r}"}
            return {"ok": True, **self.stats()}


def _remove(real: str) -> None:
    try:
        if os.path.isdir(real) and not os.path.islink(real):
            os.rmdir(real)
        else:
            os.unlink(real)
    except FileNotFoundError:
        pass


def operations(layer: Layer) -> Any:
    """The mfusepy ``Operations`` of ``layer`` (imported here: the library is needed only by the process)."""
    import mfusepy

    def owned(real: str) -> None:
        """A new entry belongs to whoever made it (the layer runs as root; the node may not)."""
        uid, gid, _pid = mfusepy.fuse_get_context()
        if os.geteuid() == 0 and uid != 0:
            os.lchown(real, uid, gid)

    def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            with layer.lock:
                try:
                    layer.check_power()
                    return fn(*args)
                except OSError as e:
                    raise mfusepy.FuseOSError(e.errno or errno.EIO) from None

        return call

    class Ops(mfusepy.Operations):
        use_ns = True

        @guarded
        def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
            st = os.lstat(layer.real(path))
            keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_blocks")
            out: dict[str, Any] = {k: getattr(st, k) for k in keys}
            out.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
            return out

        @guarded
        def readdir(self, path: str, fh: int) -> list[str]:
            names = os.listdir(layer.real(path))
            return [".", "..", *(n for n in names if not (path == "/" and n == STASH))]

        @guarded
        def readlink(self, path: str) -> str:
            return os.readlink(layer.real(path))

        @guarded
        def statfs(self, path: str) -> dict[str, int]:
            sv = os.statvfs(layer.root)
            keys = "f_bavail f_bfree f_blocks f_bsize f_favail f_ffree f_files f_frsize".split()
            out = {k: getattr(sv, k) for k in keys}
            out["f_namemax"] = sv.f_namemax
            if layer.full:
                out["f_bavail"] = out["f_bfree"] = 0
            return out

        @guarded
        def access(self, path: str, amode: int) -> int:
            if not os.access(layer.real(path), amode):
                raise OSError(errno.EACCES, "denied")
            return 0

        @guarded
        def open(self, path: str, flags: int) -> int:
            real = layer.real(path)
            if flags & os.O_TRUNC and os.path.getsize(real) > 0:
                layer.before_change(path, 0, os.path.getsize(real))
            return os.open(real, flags & ~os.O_APPEND)

        @guarded
        def create(self, path: str, mode: int, fi: Any = None) -> int:
            layer.check_space()
            real = layer.real(path)
            existed = os.path.lexists(real)
            fd = os.open(real, os.O_RDWR | os.O_CREAT | os.O_TRUNC, mode)  # reads through it too
            if not existed:
                owned(real)
                layer.note(NameOp("create", path))
                layer.files[path] = FileUndo(0)
            return fd

        @guarded
        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            return os.pread(fh, size, offset)

        @guarded
        def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
            layer.check_space()
            layer.before_change(path, offset, len(data))
            return os.pwrite(fh, data, offset)

        @guarded
        def truncate(self, path: str, length: int, fh: int | None = None) -> int:
            real = layer.real(path)
            size = os.path.getsize(real)
            if length > size:
                layer.check_space()
            layer.before_change(path, length, max(0, size - length))
            os.truncate(real, length)
            return 0

        @guarded
        def fallocate(self, path: str, mode: int, offset: int, length: int, fh: int) -> int:
            layer.check_space()
            layer.before_change(path, offset, length)
            os.posix_fallocate(fh, offset, length)
            return 0

        @guarded
        def flush(self, path: str, fh: int) -> int:
            return 0

        @guarded
        def fsync(self, path: str, datasync: int, fh: int) -> int:
            layer.synced(path)  # durable in the layer's model; the host's own disk never loses power here
            layer.any_sync()
            return 0

        @guarded
        def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
            layer.dir_synced(path)
            layer.any_sync()
            return 0

        def release(self, path: str, fh: int) -> int:
            with layer.lock:
                os.close(fh)
            return 0

        @guarded
        def mknod(self, path: str, mode: int, dev: int) -> int:
            layer.check_space()
            os.mknod(layer.real(path), mode, dev)
            owned(layer.real(path))
            layer.note(NameOp("create", path))
            return 0

        @guarded
        def mkdir(self, path: str, mode: int) -> int:
            layer.check_space()
            os.mkdir(layer.real(path), mode)
            owned(layer.real(path))
            layer.note(NameOp("create", path))
            return 0

        @guarded
        def rmdir(self, path: str) -> int:
            os.rmdir(layer.real(path))
            return 0

        @guarded
        def symlink(self, target: str, source: str) -> int:
            layer.check_space()
            os.symlink(source, layer.real(target))
            owned(layer.real(target))
            layer.note(NameOp("create", target))
            return 0

        @guarded
        def unlink(self, path: str) -> int:
            layer.real(path)
            layer.note(NameOp("unlink", path, stash=layer.stash(path)))
            return 0

        @guarded
        def rename(self, old: str, new: str) -> int:
            stash = layer.stash(new) if os.path.lexists(layer.real(new)) else ""
            os.rename(layer.real(old), layer.real(new))
            layer.move_undo(old, new)
            layer.note(NameOp("rename", old, new=new, stash=stash))
            return 0

        @guarded
        def link(self, target: str, source: str) -> int:
            os.link(layer.real(source), layer.real(target))
            return 0

        @guarded
        def chmod(self, path: str, mode: int) -> int:
            os.chmod(layer.real(path), mode)
            return 0

        @guarded
        def chown(self, path: str, uid: int, gid: int) -> int:
            os.chown(layer.real(path), uid, gid)
            return 0

        @guarded
        def utimens(self, path: str, times: Any = None) -> int:
            os.utime(layer.real(path), ns=times) if times else os.utime(layer.real(path))
            return 0

    return Ops()


def socket_address(name: str) -> str:
    """``@name`` is a Linux abstract socket (no file); anything else a path."""
    return "\0" + name[1:] if name.startswith("@") else name


def serve_control(layer: Layer, path: str) -> threading.Thread:
    """Answer control requests on the Unix socket ``path`` in a daemon thread."""
    if not path.startswith("@") and os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_address(path))
    server.listen(8)

    def loop() -> None:
        while True:
            conn, _ = server.accept()
            with conn, conn.makefile("rw") as f:
                for line in f:
                    try:
                        reply = layer.control(line)
                    except Exception as e:  # noqa: BLE001 - the harness hears of it; the layer keeps serving
                        reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
                    f.write(json.dumps(reply) + "\n")
                    f.flush()

    t = threading.Thread(target=loop, name="layer-control", daemon=True)
    t.start()
    return t


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m harness.cluster.fuselayer BACKING MOUNT CONTROL", file=sys.stderr)
        return 2
    backing, mount, control = argv
    import mfusepy

    Path(mount).mkdir(parents=True, exist_ok=True)
    layer = Layer(backing)
    serve_control(layer, control)

    def unmount(*_: Any) -> None:
        os.spawnlp(os.P_WAIT, "fusermount3", "fusermount3", "-u", "-z", mount)

    signal.signal(signal.SIGTERM, unmount)
    # announced once the kernel has the mount (a thread waits for it: FUSE() below does not return)
    threading.Thread(target=_announce, args=(mount,), daemon=True).start()
    options = {
        "foreground": True,
        "nothreads": False,
        "allow_other": os.geteuid() == 0,  # docker: the node runs as another user
        "attr_timeout": 0,
        "entry_timeout": 0,
        "negative_timeout": 0,
        "default_permissions": True,
        "fsname": "chaos-layer",
    }
    mfusepy.FUSE(operations(layer), mount, **options)
    return 0


def _announce(mount: str) -> None:
    import time

    while not os.path.ismount(mount):
        time.sleep(0.01)
    print("ready", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
