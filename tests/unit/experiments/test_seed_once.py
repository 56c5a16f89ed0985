"""The seed travels once: the command line puts it in the experiment and passes it nowhere else, and one
function (``harness.experiment.run_seed``) decides a run's seed, the fresh-seed fallback included."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from experiment_fakes import BASE, Harness

from harness.cli import run as cli_run
from harness.experiment import run_seed
from harness.loader import loads, with_overrides
from harness.run import run_experiment

ROOT = Path(__file__).resolve().parents[3]


def test_run_seed_given_then_the_experiments_then_fresh() -> None:
    h = Harness()
    exp = loads(BASE, "x.yaml", h.registries)
    assert exp.seed == 7 and run_seed(exp) == 7 and run_seed(exp, 3) == 3
    unseeded = loads(BASE.replace("seed: 7\n", ""), "x.yaml", h.registries)
    fresh = {run_seed(unseeded) for _ in range(5)}
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in fresh) and len(fresh) > 1


def test_the_command_line_passes_the_seed_only_inside_the_experiment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    h = Harness()
    seen: list[dict[str, Any]] = []

    def spy(exp: Any, **kw: Any) -> Any:
        seen.append({"seed_in_exp": exp.seed, **kw})
        return run_experiment(exp, registries=h.registries, cluster_factory=h.open_cluster, out=tmp_path)

    monkeypatch.setattr(cli_run, "run_experiment", spy)
    exp = loads(BASE, "x.yaml", h.registries)
    result = cli_run._run(exp, 11, str(tmp_path), {}, h.registries)
    assert seen[0]["seed_in_exp"] == 11 and "seed" not in seen[0]
    assert result.seed == 11 and result.bundle.read_run().seed == 11


def test_a_fresh_seed_is_recorded_so_replay_repeats_it(tmp_path: Path) -> None:
    h = Harness()
    exp = loads(BASE.replace("seed: 7\n", ""), "x.yaml", h.registries)
    kw: dict[str, Any] = {"out": tmp_path, "registries": h.registries, "cluster_factory": h.open_cluster}
    first = run_experiment(exp, **kw)
    again = run_experiment(with_overrides(exp, seed=first.seed), **kw)
    assert first.bundle.read_run().seed == first.seed == again.seed
    assert again.schedule.to_list() == first.schedule.to_list()


def test_the_fresh_seed_fallback_is_written_once() -> None:
    """``SystemRandom`` (the fresh seed) appears in ``harness/experiment.py`` only."""
    users = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "SystemRandom":
                users.append(str(path.relative_to(ROOT)))
    assert users == ["harness/experiment.py"]
