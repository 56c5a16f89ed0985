"""A planted bug is caught both ways: the shipped YAML experiment through the runner, and the same spec
through the pytest fixtures (``chaos_cluster``, ``chaos_play``, ``chaos_check``).

The fixture way is derived from the loaded ``Experiment`` by one general translation (``_fixture_way``): the
target, its mode / flags / options and node count, the workload kind and options, concurrency, rate, timeout,
the seeded fault schedule (``harness.schedule.generate``, as the runner draws it), recovery, final ops, the
checkers and the evidence rules. Nothing is written per experiment. Before the pytest API built clients with
the run's ``ClientContext``, the redis ``replica-reads`` bug (it lives in the client: reads go to a replica)
was a false pass that way, while ``chaos run`` caught it.

Cost: the default suite runs three shipped planted bugs on the local backend (each about 15 s per way); the
slow variant runs every shipped planted bug (docker-only targets on docker). As in
``test_runner_experiments``, a planted bug shows in one seeded run with high but not certain probability, so a
way that misses it gets one more seed, which must catch it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from integration_env import require_docker, require_toxiproxy

from harness.experiment import Experiment
from harness.loader import load, with_overrides
from harness.names import DOCKER, LOCAL
from harness.registry import Registries
from harness.run import run_experiment
from harness.schedule import generate

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "experiments").glob("*.yaml"))
DEFAULT = ("redis-replica-reads", "kv-stale-read", "lock-no-fencing")
TRIES = 2


def _planted() -> list[str]:
    reg = Registries()
    return [p.stem for p in SHIPPED if load(p, reg).expect == "invalid"]


def _backend(exp: Experiment) -> str:
    """The local backend wherever the experiment allows it (cheaper); docker where it insists on docker."""
    if exp.target.backend == DOCKER:
        require_docker()
        return DOCKER
    require_toxiproxy()
    return LOCAL


def _yaml_way(exp: Experiment, seed: int, out: Path) -> tuple[bool, str]:
    o = run_experiment(exp, seed=seed, out=out, overrides={"backend": exp.target.backend})
    return o.outcome == "pass", o.summary


def _fixture_way(
    exp: Experiment,
    seed: int,
    cluster_of: Callable[..., Any],
    play: Callable[..., Any],
    check: Callable[..., Any],
) -> tuple[bool, str]:
    t, w = exp.target, exp.workload
    cluster = cluster_of(
        t.declaration or t.name,
        t.nodes,
        flags=sorted(t.flags),
        options=dict(t.options),
        backend=t.backend,
        ready_timeout=exp.phases.ready_timeout,
    )
    history = play(
        cluster,
        w.kind,
        options=dict(w.options),
        duration=w.duration,
        seed=seed,
        concurrency=w.concurrency,
        rate=w.rate,
        timeout=w.timeout,
        faults=generate(exp, seed),
        recovery=exp.phases.recovery,
        final=exp.phases.final,
    )
    checkers = {c.name: {**c.options, **({"budget": c.budget} if c.budget else {})} for c in exp.checkers}
    verdict = check(history, checkers, expect=exp.expect, evidence=exp.evidence.to_dict())
    return verdict.passed, str(verdict)


def _both_ways(name: str, tmp_path: Path, cluster_of: Any, play: Any, check: Any) -> None:
    exp = load(ROOT / "experiments" / f"{name}.yaml")
    exp = with_overrides(exp, backend=_backend(exp))
    base = exp.seed if exp.seed is not None else 1
    for way in ("yaml", "fixtures"):
        seen = []
        for seed in range(base, base + TRIES):
            if way == "yaml":
                caught, words = _yaml_way(exp, seed, tmp_path / "reports")
            else:
                caught, words = _fixture_way(exp, seed, cluster_of, play, check)
            seen.append(f"seed {seed}: {words}")
            if caught:
                break
            assert "not caught" in words, f"{name} via {way}: {words}"  # never a crash or an unknown
        assert caught, f"{name}: the planted bug was not caught via {way}: " + " | ".join(seen)


@pytest.mark.parametrize("name", DEFAULT)
def test_planted_bug_caught_both_ways(
    name: str, tmp_path: Path, chaos_cluster: Any, chaos_play: Any, chaos_check: Any
) -> None:
    _both_ways(name, tmp_path, chaos_cluster, chaos_play, chaos_check)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in _planted() if n not in DEFAULT])
def test_every_shipped_planted_bug_caught_both_ways(
    name: str, tmp_path: Path, chaos_cluster: Any, chaos_play: Any, chaos_check: Any
) -> None:
    _both_ways(name, tmp_path, chaos_cluster, chaos_play, chaos_check)


def test_the_default_set_covers_a_client_side_bug_and_real_planted_bugs() -> None:
    assert set(DEFAULT) <= set(_planted())
    assert "redis-replica-reads" in DEFAULT  # the false pass this file was written for
