"""No verdict without evidence, and crashed runs, against a real kv cluster on the local backend (Toxiproxy,
node subprocesses): every node killed for the whole workload is not judged valid; a worker crash and a nemesis
crash end the run ``crashed`` (exit 3) after healing and cleaning up, with the history kept."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from chaos_targets.kv.workload import KvPlan, KvWorkload
from harness.faults.process import Kill
from harness.loader import loads
from harness.registry import Registries, Registry
from harness.run import RunResult, run_experiment

pytestmark = pytest.mark.integration

KV = """\
name: {name}
seed: 3
expect: {expect}
target: {{name: kv, nodes: 3, backend: local}}
workload: {{duration: {duration}, concurrency: 3, rate: 60}}
phases: {{warmup: 0, cooldown: 0, recovery: 1, final: true}}
"""


def _descendants(pid: int) -> set[int]:
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        out.update(map(int, kids))
        todo.extend(map(int, kids))
    return out


def _alive(pids: set[int]) -> list[int]:
    alive = []
    for p in pids:
        try:
            state = Path(f"/proc/{p}/status").read_text().split("State:")[1].split("\n")[0]
        except (OSError, IndexError):
            continue
        if "zombie" not in state.lower():
            alive.append(p)
    return alive


def _run(text: str, tmp_path: Path, reg: Registries | None = None) -> RunResult:
    reg = reg or Registries()
    before = _descendants(os.getpid())
    o = run_experiment(loads(text, "x.yaml", reg), out=tmp_path, registries=reg)
    time.sleep(0.3)
    assert _alive(_descendants(os.getpid()) - before) == [], "the run left processes behind"
    return o


def test_every_node_killed_for_the_whole_workload_is_not_valid(local_backend: str, tmp_path: Path) -> None:
    # Reads only: writes to dead nodes end ``info`` (the proxy accepted them), and deciding a history of many
    # unknown writes is the checker's hard case, not this test's subject. The read-only history is decided
    # at once -- vacuously valid -- which before evidence was weighed made this run pass.
    text = KV.format(name="kv-all-down", expect="valid", duration=4).replace(
        "rate: 60}", "rate: 15, mix: {read: 1, write: 0, cas: 0}}"
    )
    steps = "faults:\n  steps:\n    - {kind: kill, nodes: [n1, n2, n3], at: 0, duration: 4}\n"
    o = _run(text + steps, tmp_path)
    assert (o.exit_code, o.outcome, o.valid) == (2, "unknown", "unknown"), o.summary
    assert "too little evidence" in o.summary
    assert o.evidence is not None and o.evidence.counts["read"].ok < 10 < o.evidence.counts["read"].total
    assert o.bundle.read_results().results["linearizable"].valid is True  # the checker alone: vacuous


class CrashingKvWorkload(KvWorkload):
    """The kv workload whose plans raise after 30 ops each: a bug in a workload, not an op failure."""

    def plan(self, process: int, rng: Any) -> KvPlan:
        inner = super().plan(process, rng)
        count = [0]

        class Plan(KvPlan):
            def __init__(self) -> None:
                self.__dict__.update(inner.__dict__)

            def next(self, last: Any) -> Any:
                count[0] += 1
                if count[0] > 30:
                    raise RuntimeError("workload plan exploded")
                return super().next(last)

        return Plan()


def _crash_checks(o: RunResult, where: str, error: str) -> None:
    assert (o.exit_code, o.outcome) == (3, "crashed"), o.summary
    assert o.summary.startswith(f"crashed: {where}") and error in o.summary
    meta = o.bundle.read_run()
    assert meta.status == "crashed" and error in meta.error and meta.crashes
    assert o.bundle.read_results() is None  # never checked
    assert len(o.bundle.read_history().client_ops()) > 20
    assert set(o.bundle.node_logs()) == {"n1", "n2", "n3"}  # logs collected: the cluster was torn down
    assert o.report is not None and 'data-outcome="crashed"' in o.report.read_text()


def test_a_worker_crash_on_a_real_cluster(local_backend: str, tmp_path: Path) -> None:
    reg = Registries.of(workloads={"kv": CrashingKvWorkload})
    o = _run(KV.format(name="kv-worker-crash", expect="valid", duration=20), tmp_path, reg)
    _crash_checks(o, "worker-", "RuntimeError: workload plan exploded")
    assert o.bundle.read_run().timings["workload_s"] < 10


class RefusedPause(Kill):
    """A fault kind whose start fails, as a pause does where the platform refuses it."""

    name = capability = "kill"

    def _down(self, cluster: Any, node: str) -> None:
        raise OSError(f"{node}: operation not permitted")


def test_a_nemesis_crash_on_a_real_cluster(local_backend: str, tmp_path: Path) -> None:
    base = Registries()
    reg = Registries(base.targets, base.workloads, Registry("faults", {"kill": RefusedPause}), base.checkers)
    steps = "faults:\n  steps:\n    - {kind: kill, nodes: [n1], at: 1, duration: 2}\n"
    o = _run(KV.format(name="kv-nemesis-crash", expect="valid", duration=20) + steps, tmp_path, reg)
    _crash_checks(o, "nemesis", "OSError: n1: operation not permitted")
    assert o.bundle.read_run().timings["workload_s"] < 10
