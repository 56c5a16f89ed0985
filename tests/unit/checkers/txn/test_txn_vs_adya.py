"""Differential test (slow): our list-append / rw-register verdicts against adya's on simulated histories.

adya (crates.io, an independent Rust implementation of Elle's approach) simulates a database at each of its
isolation levels (serializable, snapshot-isolation, read-committed, read-uncommitted, and a lost-update
store) and checks the histories; we check the same files. Verdicts must agree on every history under every
model; the anomaly types the model forbids must agree on nearly all (which cycle a component reports first
may differ; process-order variants count as real-time ones, since process order is real-time order).
adya is built into .chaos/adya on first use.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.checkers.txn.check import list_append, rw_register
from harness.checkers.txn.models import FORBIDS
from harness.importers_txn import read_elle_json

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "bench" / "txn"))
from adya import ensure_adya, normalize, run_measured, simulate  # noqa: E402

pytestmark = pytest.mark.slow
LEVELS = ("serializable", "snapshot-isolation", "read-committed", "read-uncommitted", "lost-update")
MODELS = ("strict-serializable", "serializable", "snapshot-isolation", "read-committed")


def forbidden(types: list[str], model: str) -> list[str]:
    names = {normalize(t).replace("-process", "-realtime") for t in types}
    return sorted(t for t in names if t in FORBIDS[model])


@pytest.mark.parametrize("workload, seeds", [("list-append", 40), ("rw-register", 12)])
def test_verdicts_agree_with_adya(tmp_path: Path, workload: str, seeds: int) -> None:
    adya = ensure_adya()
    checker = list_append if workload == "list-append" else rw_register
    checked = same_types = 0
    differ: list[str] = []
    for seed in range(seeds):
        for level in LEVELS:
            path = tmp_path / f"{workload}-{level}-{seed}.jsonl"
            simulate(adya, path, 300, level, seed, processes=6, model=workload)
            history = read_elle_json(path)
            for model in MODELS:
                ref = json.loads(
                    run_measured(
                        [str(adya), "check", str(path), "-m", workload, "-c", model, "--json"]
                    ).stdout
                )
                ours = checker(history, consistency_model=model)
                assert ours.valid == ref["valid"], (workload, level, seed, model, ref, ours.details)
                checked += 1
                a, o = forbidden(ref["anomaly_types"], model), forbidden(ours.details["anomaly_types"], model)
                if a == o:
                    same_types += 1
                else:
                    differ.append(f"{level} seed {seed} {model}: adya {a} ours {o}")
    print(f"{workload}: {checked} checks, verdicts all agree, forbidden anomaly types agree on {same_types}")
    print("\n".join(differ[:20]))
    assert checked == seeds * len(LEVELS) * len(MODELS)
    assert same_types >= 0.85 * checked, differ[:20]
