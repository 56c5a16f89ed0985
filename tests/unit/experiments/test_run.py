"""The scoped run with fakes: the bundle, the verdict -> exit code mapping, budgets, crashes and Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from experiment_fakes import BASE, Harness

from harness.bundle import Bundle
from harness.loader import loads
from harness.outcome import decide
from harness.run import run_experiment

RANDOM_FAST = "faults:\n  random: {kinds: [partition, kill], interval: [0.1, 0.2], duration: [0.1, 0.2]}\n"
PARTITION = (
    "faults:\n  steps:\n    - {kind: partition, shape: isolate, nodes: [n1], at: 0.3, duration: 0.5}\n"
)


def _run(h: Harness, text: str, tmp_path: Path, **kw: Any) -> Any:
    exp = loads(text, "x.yaml", h.registries)
    return run_experiment(exp, out=tmp_path, registries=h.registries, cluster_factory=h.open_cluster, **kw)


def test_verdict_table() -> None:
    def verdict(valid: Any, expect: str) -> tuple[int, str]:
        d = decide(valid, expect)
        return d.exit_code, d.verdict

    assert verdict(True, "valid") == (0, "as expected")
    assert verdict(False, "invalid") == (0, "as expected")
    assert verdict(False, "valid") == (1, "invariant violated")
    assert verdict(True, "invalid") == (1, "planted bug not caught")
    assert verdict("unknown", "valid")[0] == 2


def test_correct_mode_run_writes_a_complete_bundle(tmp_path: Path) -> None:
    h = Harness()
    o = _run(h, BASE + PARTITION, tmp_path)
    assert o.exit_code == 0 and o.valid is True and o.seed == 7
    b = Bundle.open(tmp_path / "fake-exp" / "latest")
    assert b.path.resolve() == o.bundle.path.resolve()
    meta = b.read_run()
    assert meta.status == "finished" and meta.seed == 7 and list(meta.schedule or ()) == o.schedule.to_list()
    assert [p.phase for p in meta.phases or ()] == [
        "setup", "workload", "heal", "final", "teardown", "check", "report"
    ]
    assert "stale" not in b.experiment_file.read_text() and "isolate" in b.experiment_file.read_text()
    hist = b.read_history()
    nem = [op.f for op in hist.nemesis_ops()]
    assert nem == ["start-partition", "stop-partition"]
    assert len(hist.client_ops()) > 20 and hist.pairs()[-1].invoke.f == "read"  # the final read
    results = json.loads(b.results_file.read_text())
    assert (results["outcome"], results["verdict"]) == ("pass", "as expected")
    assert meta.started and b.read_run().finished and b.read_run().workload["duration"] > 0
    assert set(b.node_logs()) == {"n1", "n2", "n3"}
    assert meta.timings["ops_per_s"] > 0


def test_planted_bug_is_caught_only_when_a_partition_exposes_it(tmp_path: Path) -> None:
    h = Harness()
    buggy = BASE.replace("expect: valid", "expect: invalid").replace(
        "nodes: 3}", "nodes: 3, mode: stale-read}"
    )
    caught = _run(h, buggy + PARTITION, tmp_path)
    assert caught.exit_code == 0 and caught.valid is False and "stale reads" in caught.summary
    missed = _run(h, buggy, tmp_path)
    assert missed.exit_code == 1 and missed.summary.startswith("planted bug not caught")
    violated = _run(h, BASE.replace("nodes: 3}", "nodes: 3, mode: stale-read}") + PARTITION, tmp_path)
    assert violated.exit_code == 1 and violated.summary.startswith("invariant violated: no-stale: False")


def test_checker_budget_running_out_is_unknown_exit_2(tmp_path: Path) -> None:
    h = Harness()
    o = _run(h, BASE + "checkers: {slow: {budget: 0.2}}\n", tmp_path)
    assert o.exit_code == 2 and o.valid == "unknown"
    assert (
        "budget of 0.2 s ran out"
        in json.loads(o.bundle.results_file.read_text())["results"]["slow"]["summary"]
    )


def test_ctrl_c_heals_cleans_up_and_keeps_the_history(tmp_path: Path) -> None:
    h = Harness()
    text = BASE.replace("duration: 1,", "duration: 10,") + PARTITION.replace("duration: 0.5", "duration: 5")

    def progress(line: str) -> None:
        if "faults=partition" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(h, text, tmp_path, progress=progress)
    b = Bundle.open(tmp_path / "fake-exp" / "latest")
    assert b.read_run().status == "interrupted"
    hist = b.read_history()
    assert [op.f for op in hist.nemesis_ops()] == ["start-partition", "stop-partition"]
    assert len(hist.client_ops()) > 10
    assert h.clusters[0].net.grudge == {} and set(b.node_logs()) == {"n1", "n2", "n3"}


def test_a_crash_keeps_the_history_and_marks_the_run(tmp_path: Path) -> None:
    h = Harness()

    def progress(line: str) -> None:
        if "workload" in line and "ops=" in line:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        _run(h, BASE, tmp_path, progress=progress)
    b = Bundle.open(tmp_path / "fake-exp" / "latest")
    assert b.read_run().status == "crashed" and "disk on fire" in b.read_run().error
    assert len(b.read_history()) > 0


def test_missing_capability_is_an_infrastructure_error(tmp_path: Path) -> None:
    from harness.errors import InfrastructureError

    h = Harness()
    orig = h.open_cluster

    def limited(*a: Any, **kw: Any) -> Any:
        cm = orig(*a, **kw)
        return _Limit(cm)

    class _Limit:
        def __init__(self, cm: Any) -> None:
            self.cm = cm

        def __enter__(self) -> Any:
            c = self.cm.__enter__()
            c.capabilities = frozenset({"partition"})
            return c

        def __exit__(self, *exc: Any) -> Any:
            return self.cm.__exit__(*exc)

    exp = loads(
        BASE + "faults:\n  steps:\n    - {kind: pause, at: 0.2, duration: 0.5}\n", "x.yaml", h.registries
    )
    with pytest.raises(InfrastructureError, match="cannot pause"):
        run_experiment(exp, out=tmp_path, registries=h.registries, cluster_factory=limited)


def test_same_seed_replays_the_same_nemesis_ops(tmp_path: Path) -> None:
    h = Harness()
    text = BASE.replace("duration: 1,", "duration: 1.5,") + RANDOM_FAST

    def nemesis(o: Any) -> list[tuple[str, Any]]:
        return [(op.f, {k: v for k, v in op.value.items()}) for op in o.bundle.read_history().nemesis_ops()]

    a, b = _run(h, text, tmp_path), _run(h, text, tmp_path)
    assert a.schedule == b.schedule and len(a.schedule.events) >= 3
    assert nemesis(a) == nemesis(b)


def test_a_full_disk_mid_run_ends_clearly_crashed_with_no_tmp_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output directory's disk fills up during the workload: the run ends with one line naming the file
    ("cannot write ...history.jsonl: no space left on device"), the bundle says crashed, no .tmp is left."""
    import errno
    import io

    import harness.history
    from harness.errors import InfrastructureError

    full = {"now": False}

    def enospc() -> OSError:
        return OSError(errno.ENOSPC, "No space left on device")

    class FillingFile(io.TextIOWrapper):
        def write(self, s: str) -> int:
            if full["now"]:
                raise enospc()
            return super().write(s)

    def opening(path: Any, mode: str = "r", **kw: Any) -> Any:
        raw = open(path, mode.replace("t", "") + ("b" if "b" not in mode else ""))  # noqa: SIM115
        return FillingFile(raw, encoding=kw.get("encoding", "utf-8"), line_buffering=False)

    real_write_text = Path.write_text

    def write_text(self: Path, data: str, *a: Any, **kw: Any) -> int:
        # a new bundle file on the full disk: no blocks left (node logs are the fake backend's own business)
        if full["now"] and tmp_path in self.parents and self.parent.name != "logs":
            real_write_text(self, "", *a, **kw)
            raise enospc()
        return real_write_text(self, data, *a, **kw)

    def progress(line: str) -> None:
        if "workload" in line and "ops=" in line:
            full["now"] = True

    monkeypatch.setattr(harness.history, "open", opening, raising=False)
    monkeypatch.setattr(Path, "write_text", write_text)
    try:  # crashed workers (recorded, healed, exit 3), or the error itself when run.json is written last
        o = _run(Harness(), BASE, tmp_path, progress=progress)
        code, words = o.exit_code, o.summary
    except InfrastructureError as e:
        code, words = e.exit_code, str(e)
    monkeypatch.undo()
    assert code == 3 and re.search(r"cannot write \S+history.jsonl: no space left on device", words), words
    b = Bundle.open(tmp_path / "fake-exp" / "latest")
    meta = b.read_run()
    assert meta.status == "crashed" and "no space left on device" in (meta.error or "")
    assert not list(tmp_path.rglob("*.tmp"))
    assert len(b.read_history()) > 0  # what was written before the disk filled is kept


def test_a_report_that_cannot_be_written_is_one_line_and_leaves_no_tmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    from harness.cli import main

    _run(Harness(), BASE, tmp_path)
    bundle = tmp_path / "fake-exp" / "latest"
    real_write_text = Path.write_text

    def write_text(self: Path, data: str, *a: Any, **kw: Any) -> int:
        if self.name.endswith(".tmp"):
            real_write_text(self, data[:10], *a, **kw)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, data, *a, **kw)

    monkeypatch.setattr(Path, "write_text", write_text)
    assert main(["report", str(bundle)]) == 3
    err = capsys.readouterr().err
    assert err.strip() == f"chaos: error: cannot write {bundle}/report.html: no space left on device"
    assert not list(tmp_path.rglob("*.tmp"))
def test_run_json_names_the_backend_that_ran_and_the_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``backend: auto`` is resolved in run.json once the cluster is up (the report's header shows it), and
    the system's version and the harness's are recorded beside the harness's code version."""
    from types import SimpleNamespace

    h = Harness()
    real = h.open_cluster

    @contextlib.contextmanager
    def on_local(*args: Any, **kw: Any) -> Iterator[Any]:
        with real(*args, **kw) as cluster:
            cluster.backend = SimpleNamespace(name="local")
            yield cluster

    h.open_cluster = on_local  # type: ignore[method-assign]
    monkeypatch.setenv("CHAOS_SUT_VERSION", "app-7")
    o = _run(h, BASE, tmp_path)
    meta = o.bundle.read_run()
    assert meta.backend == "local" and meta.resolved["target"]["backend"] == "auto"
    assert meta.sut_version == "app-7" and meta.harness_version and meta.code_version
    assert "replay" in meta.replay and str(o.bundle.path.resolve()) in meta.replay
