"""Acceptance of the real-system examples (issue 10) on docker: the shipped experiments, seeded many times.

etcd ``linearizable`` valid in 5 of 5 seeds under partitions, kills and pauses; ``serializable-reads`` caught
in at least 9 of 10; Redis replica reads caught in >= 9 of 10 and primary-only valid in 5 of 5; PostgreSQL
replica reads caught in >= 9 of 10. Each seed is one full run of the shipped experiment file; every verdict is
printed so the counts can be reported (``pytest -m slow -s``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.loader import load, with_overrides
from harness.run import run_experiment

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def verdicts(name: str, seeds: range, out: Path) -> list[object]:
    exp = with_overrides(load(ROOT / "experiments" / f"{name}.yaml"), backend="docker")
    got = []
    for seed in seeds:
        o = run_experiment(exp, seed=seed, out=out)
        got.append(o.valid)
        print(f"{name} seed {seed}: valid={o.valid} ({o.summary[:120]}) {o.bundle.path}", flush=True)
    return got


@pytest.mark.parametrize(
    ("name", "runs", "want", "at_least"),
    [
        ("etcd-linearizable", 5, True, 5),
        ("etcd-serializable-reads", 10, False, 9),
        ("redis-primary-only", 5, True, 5),
        ("redis-replica-reads", 10, False, 9),
        ("redis-volatile-primary", 10, False, 9),
        ("postgres-primary-only", 5, True, 5),
        ("postgres-replica-reads", 10, False, 9),
        ("rabbitmq-quorum", 5, True, 5),
        ("rabbitmq-classic-transient", 5, False, 5),
    ],
)
def test_seeded_verdicts(
    name: str, runs: int, want: bool, at_least: int, docker_backend: str, tmp_path: Path
) -> None:
    got = verdicts(name, range(100, 100 + runs), tmp_path)
    hits = sum(v is want for v in got)
    print(
        f"ACCEPTANCE {name}: {hits}/{runs} {'valid' if want else 'caught'} (needs >= {at_least})", flush=True
    )
    assert hits >= at_least, f"{name}: {hits} of {runs} runs gave valid={want}: {got}"
