"""Two installed distributions claiming one registered name (issue 23 point 8): refused with a line naming
both, and ``DIST:NAME`` picks one. The distributions are real metadata folders on ``sys.path``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.registry import Registry


def dist(root: Path, name: str, value: str) -> None:
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    entries = f"[chaos_harness.targets]\nzz-clash = {value}\nzz-alone-{name} = {value}\n"
    (info / "entry_points.txt").write_text(entries)


@pytest.fixture
def two_dists(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "zz_clash_a.py").write_text("class T:\n    name = 'a'\n")
    (tmp_path / "zz_clash_b.py").write_text("class T:\n    name = 'b'\n")
    dist(tmp_path, "zz-first-dist", "zz_clash_a:T")
    dist(tmp_path, "zz-second-dist", "zz_clash_b:T")
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))


def test_a_name_two_distributions_claim_is_refused_naming_both(two_dists: Path) -> None:
    reg = Registry("targets")
    assert "zz-clash" in reg.names()
    with pytest.raises(BadInput) as e:
        reg.get("zz-clash")
    msg = str(e.value)
    assert "target 'zz-clash' is registered by two distributions:" in msg
    assert "zz-first-dist (zz_clash_a:T)" in msg and "zz-second-dist (zz_clash_b:T)" in msg
    assert "DIST:NAME" in msg
    assert reg.conflicts()["zz-clash"] == ["zz-first-dist (zz_clash_a:T)", "zz-second-dist (zz_clash_b:T)"]


def test_dist_colon_name_picks_one(two_dists: Path) -> None:
    reg = Registry("targets")
    assert reg.get("zz-second-dist:zz-clash").name == "b"
    assert reg.get("zz_first_dist:zz-clash").name == "a"  # distribution names compare normalised
    assert "zz-second-dist:zz-clash" in reg and "nobody:zz-clash" not in reg
    assert reg.get("zz-alone-zz-first-dist").name == "a"  # a name only one claims needs no qualifier
    with pytest.raises(BadInput, match="unknown target 'nobody:zz-clash'"):
        reg.get("nobody:zz-clash")


def test_an_experiment_names_a_target_unambiguously_as_dist_colon_name() -> None:
    from harness.loader import loads
    from harness.registry import Registries

    text = (
        "expect: valid\ntarget: {name: 'chaos-harness:redis', mode: replica-reads}\n"
        "workload: {duration: 5}\n"
    )
    exp = loads(text, "e.yaml")
    assert exp.target.resolve(Registries()).name == "redis"
    assert exp.target.flags == frozenset({"replica-reads"})
