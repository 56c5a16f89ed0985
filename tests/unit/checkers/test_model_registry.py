"""The model registry is fixed data: the bundled models plus the installed ``chaos_harness.models`` ones.

A user's model is found the way a target or a fault kind is, through an entry point of an installed package;
here the package is a ``.dist-info`` directory on ``PYTHONPATH`` of a child process, so ``chaos check
--model counter`` really resolves the name through the packaging metadata, and nothing is mutated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import pytest

from harness.checkers import models
from harness.errors import BadInput

COUNTER = """
from harness.checkers.models import Call, Model


class Counter(Model):
    name = "counter"
    default_init = 0

    def step(self, state, call: Call):
        if call.f == "incr":
            return True, state + 1
        return call.out == state, state
"""


def _install(site: Path, entry: str) -> None:
    (site / "counter_model.py").write_text(COUNTER)
    info = site / "counter_model-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: counter-model\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[chaos_harness.models]\n{entry}\n")


def _history(path: Path, read: int) -> Path:
    ops = [
        {"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "incr", "value": None},
        {"index": 1, "time": 1, "process": 1, "type": "invoke", "f": "read", "value": None},
        {"index": 2, "time": 2, "process": 1, "type": "ok", "f": "read", "value": read},
        {"index": 3, "time": 3, "process": 0, "type": "ok", "f": "incr", "value": None},
    ]
    path.write_text("".join(json.dumps(op) + "\n" for op in ops))
    return path


def _chaos_check(site: Path, history: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "check", str(history), "--model", "counter"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_the_bundled_models_cannot_be_changed() -> None:
    assert isinstance(models.BUNDLED_MODELS, MappingProxyType)
    with pytest.raises(TypeError):
        models.BUNDLED_MODELS["counter"] = models.RegisterModel  # type: ignore[index]
    assert {"register", "cas-register", "kv", "kv-map", "mutex"} <= set(models.model_names())
    assert not hasattr(models, "register_model")


def test_an_installed_model_is_found_by_name(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "counter = counter_model:Counter")
    ok = _chaos_check(site, _history(tmp_path / "ok.jsonl", 1))
    assert ok.returncode == 0, ok.stderr
    bad = _chaos_check(site, _history(tmp_path / "bad.jsonl", 2))
    assert bad.returncode == 1, bad.stderr


def test_without_the_package_the_name_is_unknown_and_a_broken_one_is_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _chaos_check(empty, _history(tmp_path / "h.jsonl", 1))
    assert r.returncode == 3 and "unknown model 'counter'" in r.stderr, r.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    _install(broken, "counter = counter_model:NoSuchClass")
    r = _chaos_check(broken, _history(tmp_path / "h2.jsonl", 1))
    assert r.returncode == 3 and "registered (counter_model:NoSuchClass) but cannot be loaded" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    with pytest.raises(BadInput, match="unknown model 'counter'"):
        models.get_model("counter")
