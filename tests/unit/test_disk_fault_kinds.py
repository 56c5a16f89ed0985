"""The disk fault kinds against a stand-in backend: order of kill and power loss, heal, seeded corruption,
param errors with their field, the report drawing power cuts and corruptions as node-down windows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.cluster.disklayer import corrupt_file
from harness.errors import BadInput, InfrastructureError
from harness.faults.base import FaultContext, ParamError
from harness.faults.disk import Corrupt, DiskFull, LoseUnsynced

CTX = FaultContext(("n1", "n2", "n3"), ())


class Disks:
    def __init__(self, root: Path) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.root = root

    def lose_unsynced(self, node: str, names: str = "strict") -> dict[str, Any]:
        self.calls.append(("lose", node, names))
        return {"ok": True, "files": 1, "names": 0, "bytes": 7, "powered": False}

    def power_on(self, node: str) -> None:
        self.calls.append(("on", node))

    def disk_full(self, node: str, full: bool) -> None:
        self.calls.append(("full", node, str(full)))

    def data_files(self, node: str) -> Path:
        return self.root / node


class Cluster:
    def __init__(self, root: Path) -> None:
        self.backend = Disks(root)

    def kill(self, node: str) -> None:
        self.backend.calls.append(("kill", node))

    def stop(self, node: str) -> None:
        self.backend.calls.append(("stop", node))

    def start(self, node: str) -> None:
        self.backend.calls.append(("start", node))


def test_a_power_cut_kills_every_node_before_any_disk_loses_power(tmp_path: Path) -> None:
    c = Cluster(tmp_path)
    p = {"nodes": ["n1", "n2"], "names": "journaled"}
    out = LoseUnsynced().start(c, p)
    assert out == {
        "lost": {"n1": {"files": 1, "names": 0, "bytes": 7}, "n2": {"files": 1, "names": 0, "bytes": 7}}
    }
    LoseUnsynced().stop(c, p)
    assert c.backend.calls == [
        ("kill", "n1"),
        ("kill", "n2"),
        ("lose", "n1", "journaled"),
        ("lose", "n2", "journaled"),
        ("on", "n1"),
        ("start", "n1"),
        ("on", "n2"),
        ("start", "n2"),
    ]
    DiskFull().start(c, {"nodes": ["n3"]})
    DiskFull().stop(c, {"nodes": ["n3"]})
    assert c.backend.calls[-2:] == [("full", "n3", "True"), ("full", "n3", "False")]


def test_corruption_is_seeded_and_recorded(tmp_path: Path) -> None:
    for n in ("n1", "n2"):
        (tmp_path / n).mkdir()
        (tmp_path / n / "raft.log").write_bytes(bytes(range(256)) * 8)
        (tmp_path / n / "other.dat").write_bytes(b"x" * 100)
    c = Cluster(tmp_path)
    p = {"nodes": ["n1"], "file": "*.log", "mode": "flip", "bits": 4, "within": [0.25, 0.5], "seed": 7}
    first = Corrupt().start(c, p)["corrupted"]["n1"]
    assert first["file"] == "raft.log" and len(first["flipped"]) == 4
    assert all(512 <= pos < 1024 for pos, _bit in first["flipped"])
    changed = (tmp_path / "n1" / "raft.log").read_bytes()
    assert sum(a != b for a, b in zip(changed, bytes(range(256)) * 8, strict=True)) >= 1
    # the same seed on the same bytes changes the same bits
    again = corrupt_file(tmp_path / "n2", "*.log", "flip", Corrupt()._seed(p, "n1"), 4, (0.25, 0.5))
    assert again["flipped"] == first["flipped"]
    cut = corrupt_file(tmp_path / "n2", "other.dat", "truncate", 3, 1, (0.0, 1.0))
    assert (tmp_path / "n2" / "other.dat").stat().st_size == cut["truncated_to"] < 100
    assert c.backend.calls == [("stop", "n1")]
    with pytest.raises(InfrastructureError, match="no non-empty file matches"):
        corrupt_file(tmp_path / "n1", "*.missing", "flip", 1)


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        (LoseUnsynced(), {"nodes": ["n1"], "names": "lazy"}, ("names",)),
        (LoseUnsynced(), {"nodes": ["n7"]}, ("nodes", 0)),
        (Corrupt(), {"nodes": ["n1"]}, ("file",)),
        (Corrupt(), {"nodes": ["n1"], "file": "../etc/passwd"}, ("file",)),
        (Corrupt(), {"nodes": ["n1"], "file": "a", "mode": "shred"}, ("mode",)),
        (Corrupt(), {"nodes": ["n1"], "file": "a", "bits": 0}, ("bits",)),
        (Corrupt(), {"nodes": ["n1"], "file": "a", "within": [0.5, 0.5]}, ("within",)),
        (Corrupt(), {"nodes": ["n1"], "file": "a", "seed": -1}, ("seed",)),
    ],
)
def test_disk_params_are_checked_with_their_field(
    kind: Any, params: dict[str, Any], field: tuple[Any, ...]
) -> None:
    with pytest.raises(ParamError) as e:
        kind.validate(params, CTX)
    assert e.value.field == field


def test_a_backend_without_the_ability_is_refused_with_the_reason(tmp_path: Path) -> None:
    class Bare:
        backend = object()
        refusals = {"disk": "/dev/fuse does not exist"}

        def kill(self, node: str) -> None: ...

    with pytest.raises(BadInput, match="disk: /dev/fuse does not exist"):
        LoseUnsynced().start(Bare(), {"nodes": ["n1"]})


def test_the_report_draws_power_cuts_and_corruptions_as_node_down() -> None:
    """The kinds declare their effect (recorded with each fault op; the report's node lanes read it)."""
    from harness.faults.base import effect_of
    from harness.faults.disk import Corrupt, DiskFull
    from harness.faults.process import Kill, Restart

    down = {k.name for k in (LoseUnsynced, Corrupt, Kill, Restart, DiskFull) if effect_of(k()) == "down"}
    assert down == {"lose-unsynced", "corrupt", "kill", "restart"}
