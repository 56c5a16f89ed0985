"""Disk faults on a node's data directory: the ``DiskControl`` / ``FileCorruption`` capability protocols and
the mechanisms behind them.

``DiskControl`` (capability ``disk``): the node's data directory is the mount point of a fault layer
(``harness.cluster.fuselayer``, one FUSE process per node, its files in a backing directory beside it), set up
before the node first starts when the run asks for it (``open_cluster(prepare={"disk"})``). ``lose_unsynced``
is a power loss of that node's disk (call it after killing the node): everything written since the last
sync is taken back; ``power_on`` serves again; ``disk_full`` makes writes fail with ENOSPC.

``FileCorruption`` (capability ``corrupt``): the host can reach the files of a stopped node
(``data_files``), and ``corrupt_file`` flips bits in or truncates one of them, every choice drawn from a seed.

``fuse_refusal`` says why this machine cannot run the layer (``chaos doctor`` prints it); ``LayerProcess``
starts, drives and stops one layer. Stopping always unmounts (lazily if the mount is still busy); a layer of
a run killed outright is found and unmounted by ``chaos clean`` (``rundir.unmount_below``).
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import select
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.cluster.fuselayer import socket_address
from harness.cluster.rundir import RunDir, unmount
from harness.errors import InfrastructureError

DISK = "disk"  # capability: lose-unsynced, disk-full
CORRUPT = "corrupt"  # capability: corrupt
READY_TIMEOUT = 20.0
CORRUPT_MODES = ("flip", "truncate")


@runtime_checkable
class DiskControl(Protocol):
    def lose_unsynced(self, node: str, names: str = "strict") -> dict[str, Any]:
        """The node's disk loses power: every unsynced write is dropped (``names``: strict or journaled,
        see ``harness.cluster.fuselayer``). Returns what was lost."""
        ...

    def power_on(self, node: str) -> None:
        """The node's disk serves again (before the node is started again)."""
        ...

    def disk_full(self, node: str, full: bool) -> None:
        """While ``full``, writes to the node's data directory fail with ENOSPC."""
        ...


@runtime_checkable
class FileCorruption(Protocol):
    def data_files(self, node: str) -> Path:
        """Where the host finds the files of the node's data directory (the node must be stopped)."""
        ...


def fuse_refusal() -> str | None:
    """Why this machine cannot run the disk fault layer, or None."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist (no FUSE in this kernel or container)"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (scripts/setup installs Debian's fuse3)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as e:
        return f"the mfusepy library cannot be loaded ({str(e)[:100]}); scripts/setup installs it"
    return None


class LayerProcess:
    """One running fault layer: ``backing`` seen at ``mount``, driven over the Unix socket ``control``."""

    def __init__(self, run: RunDir, node: str, backing: Path, mount: Path) -> None:
        self.node, self.mount = node, mount
        # an abstract socket ("@..."): no file, so no path length limit and nothing left behind
        self.control = f"@chaos-layer-{run.run_id}-{node}"
        try:
            backing.mkdir(parents=True, exist_ok=True)
            mount.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InfrastructureError(
                f"the disk fault layer of node {node} did not mount {mount}: {e.strerror or e}"
            ) from None
        self.log = run.log_file(f"layer-{node}")
        log = open(self.log, "ab")  # noqa: SIM115 - the child holds it
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "harness.cluster.fuselayer", str(backing), str(mount), self.control],
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's Ctrl-C reaches the runner, which unmounts in order
            )
        finally:
            log.close()
        run.record_pid(f"layer-{node}", self.proc.pid)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.proc.stdout is not None
        readable, _, _ = select.select([self.proc.stdout], [], [], READY_TIMEOUT)
        line = self.proc.stdout.readline() if readable else b""  # "ready" once mounted; EOF when it died
        if line.strip() != b"ready":
            self.stop()
            tail = " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-2:])[-300:]
            raise InfrastructureError(
                f"the disk fault layer of node {self.node} did not mount {self.mount}: {tail or 'no output'}"
            )

    def call(self, command: str) -> dict[str, Any]:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(30)
                s.connect(socket_address(self.control))
                s.sendall(command.encode() + b"\n")
                reply = s.makefile("r").readline()
            out = json.loads(reply)
        except (OSError, ValueError) as e:
            raise InfrastructureError(f"the disk fault layer of node {self.node}: {command}: {e}") from None
        if not out.get("ok"):
            raise InfrastructureError(f"the disk fault layer of node {self.node}: {out.get('error')}")
        return dict(out)

    def stop(self) -> None:
        """Unmount and end the process (never raises)."""
        unmount(str(self.mount))
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        unmount(str(self.mount))  # a layer killed before it unmounted leaves a dead mount
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _matching(root: Path, pattern: str) -> list[Path]:
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if fnmatch.fnmatch(rel, pattern) and not rel.startswith(".chaos-layer-stash"):
                out.append(path)
    return sorted(out)


def corrupt_file(
    root: Path, pattern: str, mode: str, seed: int, bits: int = 1, within: tuple[float, float] = (0.0, 1.0)
) -> dict[str, Any]:
    """Corrupt one file below ``root`` matching ``pattern`` (a path relative to it, or a glob), chosen by
    ``seed``: ``flip`` flips ``bits`` bits at seeded positions in the part ``within`` (fractions of its size),
    ``truncate`` cuts the file at a seeded point in that part. Returns what was done."""
    rng = random.Random(seed)
    files = [p for p in _matching(root, pattern) if p.stat().st_size > 0]
    if not files:
        raise InfrastructureError(f"corrupt: no non-empty file matches {pattern!r} in the node's data dir")
    path = rng.choice(files)
    size = path.stat().st_size
    lo, hi = int(size * within[0]), max(int(size * within[0]) + 1, int(size * within[1]))
    hi = min(hi, size)
    rel = str(path.relative_to(root))
    if mode == "truncate":
        cut = rng.randrange(lo, hi)
        os.truncate(path, cut)
        return {"file": rel, "mode": mode, "size": size, "truncated_to": cut}
    flips = []
    with open(path, "r+b") as fh:
        for _ in range(bits):
            pos, bit = rng.randrange(lo, hi), rng.randrange(8)
            fh.seek(pos)
            old = fh.read(1)[0]
            fh.seek(pos)
            fh.write(bytes([old ^ (1 << bit)]))
            flips.append([pos, bit])
        fh.flush()
        os.fsync(fh.fileno())
    return {"file": rel, "mode": mode, "size": size, "flipped": flips}
