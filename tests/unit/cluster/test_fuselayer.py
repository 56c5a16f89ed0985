"""The disk fault layer, mounted for real (FUSE): a power loss takes back exactly what was not synced.

A seeded random program of writes, overwrites, truncations, creates, renames and unlinks, with fsyncs of files
and of the directory in between, runs against the mount while a model keeps what a POSIX disk must keep at a
power loss (file data as of its file's last fsync; names as of the directory's last fsync). After ``lose`` the
mount must equal the model byte for byte -- and a program that syncs after each step must lose nothing.
Also: disk-full, the powered-off state, and that stopping a layer (or ``chaos clean`` after a killed one)
leaves no mount behind.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cluster.disklayer import LayerProcess, fuse_refusal
from harness.cluster.rundir import RunDir, mounts_below
from harness.errors import InfrastructureError

pytestmark = pytest.mark.skipif(fuse_refusal() is not None, reason=f"no FUSE here: {fuse_refusal()}")


@pytest.fixture
def layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LayerProcess]:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path / "home"))
    run = RunDir.create("20260101000000-abcdef")
    lp = LayerProcess(run, "n1", run.path / "disk" / "n1", run.path / "data" / "n1")
    try:
        yield lp
    finally:
        lp.stop()
        run.remove()


def listing(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}


def dir_fsync(root: Path) -> None:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Model:
    """What the disk must hold after a power loss: per file id its synced bytes; names as last dir-synced."""

    def __init__(self) -> None:
        self.data: dict[int, bytearray] = {}
        self.synced: dict[int, bytes] = {}
        self.names: dict[str, int] = {}
        self.durable_names: dict[str, int] = {}
        self.next = 0

    def expected(self) -> dict[str, bytes]:
        return {name: self.synced.get(fid, b"") for name, fid in sorted(self.durable_names.items())}


def run_program(root: Path, seed: int, sync_always: bool) -> Model:
    rng = random.Random(seed)
    m = Model()
    for _step in range(120):
        op = rng.choice(
            ["create", "write", "write", "write", "truncate", "rename", "unlink", "fsync", "dirsync"]
        )
        if op == "create" or not m.names:
            name = f"f{rng.randrange(6)}"
            if name in m.names:
                continue
            fid, m.next = m.next, m.next + 1
            fd = os.open(root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.close(fd)
            m.data[fid] = bytearray()
            m.names[name] = fid
        elif op == "write":
            name = rng.choice(sorted(m.names))
            buf = m.data[m.names[name]]
            off = rng.randrange(len(buf) + 8)
            chunk = rng.randbytes(rng.randrange(1, 300))
            fd = os.open(root / name, os.O_WRONLY)
            os.pwrite(fd, chunk, off)
            os.close(fd)
            if off > len(buf):
                buf.extend(b"\0" * (off - len(buf)))
            buf[off : off + len(chunk)] = chunk
        elif op == "truncate":
            name = rng.choice(sorted(m.names))
            buf = m.data[m.names[name]]
            size = rng.randrange(len(buf) + 20)
            os.truncate(root / name, size)
            del buf[size:]
            buf.extend(b"\0" * (size - len(buf)))
        elif op == "rename":
            old = rng.choice(sorted(m.names))
            new = f"f{rng.randrange(6)}"
            if new == old:
                continue
            os.rename(root / old, root / new)
            m.names[new] = m.names.pop(old)
        elif op == "unlink":
            name = rng.choice(sorted(m.names))
            os.unlink(root / name)
            del m.names[name]
        elif op == "fsync":
            name = rng.choice(sorted(m.names))
            fd = os.open(root / name, os.O_RDONLY)
            (os.fdatasync if rng.random() < 0.5 else os.fsync)(fd)
            os.close(fd)
            m.synced[m.names[name]] = bytes(m.data[m.names[name]])
        elif op == "dirsync":
            dir_fsync(root)
            m.durable_names = dict(m.names)
        if sync_always:
            for name, fid in m.names.items():
                fd = os.open(root / name, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
                m.synced[fid] = bytes(m.data[fid])
            dir_fsync(root)
            m.durable_names = dict(m.names)
    return m


@pytest.mark.parametrize("seed", range(6))
def test_a_power_loss_takes_back_exactly_the_unsynced_writes(layer: LayerProcess, seed: int) -> None:
    root = layer.mount
    m = run_program(root, seed, sync_always=False)
    assert listing(root) == {n: bytes(m.data[f]) for n, f in sorted(m.names.items())}  # pass-through
    lost = layer.call("lose")
    with pytest.raises(OSError):  # no power: nothing is served until "on"
        os.listdir(root)
    layer.call("on")
    assert listing(root) == m.expected()
    assert lost["files"] + lost["names"] > 0


@pytest.mark.parametrize("seed", range(3))
def test_a_node_that_syncs_every_step_loses_nothing(layer: LayerProcess, seed: int) -> None:
    m = run_program(layer.mount, 100 + seed, sync_always=True)
    before = listing(layer.mount)
    assert layer.call("lose")["bytes"] == 0
    layer.call("on")
    assert listing(layer.mount) == before == m.expected()


def test_disk_full_refuses_writes_for_the_window_only(layer: LayerProcess) -> None:
    f = layer.mount / "a"
    f.write_bytes(b"x")
    layer.call("full on")
    with pytest.raises(OSError) as e:
        f.write_bytes(b"more")
    assert e.value.errno == 28  # ENOSPC
    with pytest.raises(OSError):
        (layer.mount / "b").write_bytes(b"new")
    assert f.read_bytes() in (b"", b"x")  # opening for writing truncated it before the write failed
    layer.call("full off")
    f.write_bytes(b"after")
    assert f.read_bytes() == b"after"


def test_stopping_a_layer_unmounts_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path / "home"))
    run = RunDir.create("20260101000000-abcdee")
    lp = LayerProcess(run, "n1", run.path / "disk" / "n1", run.path / "data" / "n1")
    assert mounts_below(str(run.path)) == [str(lp.mount)]
    lp.stop()
    assert mounts_below(str(run.path)) == []
    run.remove()


def test_clean_removes_the_mount_of_a_layer_killed_outright(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.cli.clean import clean

    monkeypatch.setenv("CHAOS_HOME", str(tmp_path / "home"))
    run = RunDir.create("20260101000000-abcded")
    lp = LayerProcess(run, "n1", run.path / "disk" / "n1", run.path / "data" / "n1")
    (lp.mount / "f").write_bytes(b"x")
    os.kill(lp.proc.pid, signal.SIGKILL)  # as when the runner and its layer are killed: a dead mount stays
    lp.proc.wait()
    assert mounts_below(str(run.path)) == [str(lp.mount)]
    done = clean(run.run_id, docker=False)
    assert any(line.startswith("mount ") for line in done)
    assert mounts_below(str(run.path)) == [] and not run.path.exists()


def test_a_layer_that_cannot_mount_is_an_infrastructure_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path / "home"))
    run = RunDir.create("20260101000000-abcdec")
    missing = run.path / "no-such-backing-parent" / "x"
    (run.path / "data").mkdir()
    (run.path / "data" / "n1").write_text("a file, not a directory")  # mount point cannot be a directory
    with pytest.raises(InfrastructureError, match="did not mount"):
        LayerProcess(run, "n1", missing, run.path / "data" / "n1")
    run.remove()
