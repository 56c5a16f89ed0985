"""Steady-state probes and the abort condition: validation, each probe kind, and the runner's use of them."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from experiment_fakes import BASE, Harness

from harness.bundle import Bundle
from harness.errors import BadInput
from harness.loader import loads
from harness.probes import Probe, SteadyState, run_probe, verify
from harness.run import run_experiment
from harness.target import Addr

PARTITION = (
    "faults:\n  steps:\n    - {kind: partition, shape: isolate, nodes: [n1], at: 0.3, duration: 0.5}\n"
)


def _exp(h: Harness, steady: str, extra: str = PARTITION) -> Any:
    return loads(BASE + extra + steady, "x.yaml", h.registries)


@pytest.fixture
def http_server() -> Iterator[Addr]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()

        def log_message(self, *a: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield Addr("127.0.0.1", srv.server_address[1])
    srv.shutdown()
    srv.server_close()


def test_each_probe_kind_passes_and_fails_on_its_tolerance(http_server: Addr) -> None:
    addrs = {"n1": http_server}
    ok = Probe("h", "http", "http://{n1}/health", frozenset({200}))
    bad = Probe("h", "http", "http://{n1.host}:{n1.port}/other", frozenset({200}))
    assert run_probe(ok, addrs, None) is None
    assert "status 503, expected 200" in (run_probe(bad, addrs, None) or "")
    assert run_probe(Probe("t", "tcp", "n1", frozenset({"connected"})), addrs, None) is None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    refused = run_probe(Probe("t", "tcp", f"127.0.0.1:{closed}", frozenset({"connected"}), 0.5), addrs, None)
    assert refused is not None and "ConnectionRefused" in refused
    assert run_probe(Probe("c", "command", ("sh", "-c", "exit 3"), frozenset({3})), addrs, None) is None
    why = run_probe(Probe("c", "command", ("sh", "-c", "echo no >&2; exit 1"), frozenset({0})), addrs, None)
    assert why == "sh -c echo no >&2; exit 1: exit 1, expected 0 (no)"
    seen: list[tuple[str, Any]] = []

    def op(f: str, value: Any) -> str:
        seen.append((f, value))
        return "fail"

    assert (
        run_probe(Probe("o", "op", ("read", {"k": 1}), frozenset({"ok"})), addrs, op)
        == "op read: fail, expected ok"
    )
    assert seen == [("read", {"k": 1})]


def test_verify_retries_until_within_then_names_the_probe() -> None:
    now = [0.0]
    steady = SteadyState(
        (
            Probe("fine", "command", ("true",), frozenset({0})),
            Probe("never", "command", ("false",), frozenset({0})),
        ),
        within=2,
    )
    failure = verify(steady, {}, None, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert failure is not None and failure.probe == "never"
    assert "still failing after 2 s" in failure.reason and now[0] >= 2


def test_validation_names_file_line_and_field() -> None:
    h = Harness()
    with pytest.raises(
        BadInput, match=r"x.yaml:\d+: steady_state.probes\[0\].tcp: 'n9': expected a node name"
    ):
        _exp(h, "steady_state:\n  probes:\n    - {name: a, tcp: n9}\n")
    with pytest.raises(BadInput, match=r"steady_state.probes\[0\].http: \{n7\}: unknown node"):
        _exp(h, "steady_state:\n  probes:\n    - {name: a, http: 'http://{n7}/'}\n")
    with pytest.raises(BadInput, match=r"steady_state.abort.probes\[0\]: unknown probe 'b'; valid: a"):
        _exp(h, "steady_state:\n  probes:\n    - {name: a, command: ['true']}\n  abort: {probes: [b]}\n")
    with pytest.raises(BadInput, match=r"steady_state.probes\[0\]"):
        _exp(h, "steady_state:\n  probes:\n    - {name: a, command: ['true'], tcp: n1}\n")
    exp = _exp(
        h,
        "steady_state:\n  within: 3\n  probes:\n    - {name: a, command: ['true'], exit: [0, 1]}\n"
        "    - {name: b, op: {f: read, value: {key: k0}}}\n  abort: {interval: 0.2, failures: 2}\n",
    )
    assert exp.steady_state is not None and exp.steady_state.within == 3
    a, b = exp.steady_state.probes
    assert (a.kind, a.accept) == ("command", frozenset({0, 1}))
    assert (b.kind, b.target, b.accept) == ("op", ("read", {"key": "k0"}), frozenset({"ok"}))
    assert exp.steady_state.abort is not None and exp.steady_state.abort.probes == ("a", "b")


def test_a_probe_failing_before_faults_makes_the_run_unknown_and_names_it(tmp_path: Path) -> None:
    h = Harness()
    exp = _exp(
        h,
        "steady_state:\n  within: 0.3\n  probes:\n    - {name: ok-probe, command: ['true']}\n"
        "    - {name: health, command: [sh, -c, 'exit 4']}\n",
    )
    o = run_experiment(exp, out=tmp_path, registries=h.registries, cluster_factory=h.open_cluster)
    assert o.exit_code == 2 and o.valid == "unknown"
    b = Bundle(o.bundle.path)
    run = b.read_run()
    assert run.outcome == "unknown" and run.steady_state["held"] is False
    assert run.steady_state["probe"] == "health"
    results = json.loads(b.results_file.read_text())
    assert list(results["results"]) == ["steady-state"]
    assert "'health'" in results["results"]["steady-state"]["summary"]
    hist = b.read_history()
    assert [op.f for op in hist.nemesis_ops()] == ["steady-state-failed"]  # no fault was injected
    assert len(hist.client_ops()) == 0
    assert "steady-state" in [p.phase for p in run.phases or ()]


def test_a_steady_system_runs_and_op_probes_are_recorded(tmp_path: Path) -> None:
    h = Harness()
    exp = _exp(
        h, "steady_state:\n  probes:\n    - {name: can-write, op: {f: write, value: {key: k9, value: 5}}}\n"
    )
    o = run_experiment(exp, out=tmp_path, registries=h.registries, cluster_factory=h.open_cluster)
    assert o.exit_code == 0
    run = Bundle(o.bundle.path).read_run()
    assert run.steady_state["held"] is True and run.aborted is None
    probe_ops = [op for op in Bundle(o.bundle.path).read_history() if op.process == 1_000_001]
    assert [op.type for op in probe_ops] == ["invoke", "ok"] and probe_ops[0].value == {
        "key": "k9",
        "value": 5,
    }
    assert run.code_version and run.timings["check_s"] >= 0


def test_an_abort_that_trips_mid_run_heals_and_says_so(tmp_path: Path) -> None:
    h = Harness()
    flag = tmp_path / "healthy"
    flag.write_text("")
    exp = loads(
        BASE.replace("duration: 1,", "duration: 6,")
        + "faults:\n  steps:\n    - {kind: partition, shape: isolate, nodes: [n1], at: 0.5, duration: 5}\n"
        + f"steady_state:\n  probes:\n    - {{name: flag-file, command: [test, -e, '{flag}']}}\n"
        + "  abort: {interval: 0.1, failures: 2}\n",
        "x.yaml",
        h.registries,
    )
    threading.Timer(1.0, flag.unlink).start()  # the system "degrades" 1 s in, during the partition
    o = run_experiment(exp, out=tmp_path / "r", registries=h.registries, cluster_factory=h.open_cluster)
    b = Bundle(o.bundle.path)
    run = b.read_run()
    assert run.aborted["probe"] == "flag-file" and 1.0 <= run.aborted["at_s"] < 3.0
    assert run.timings["workload_s"] < 4  # cut short of its 6 s
    nem = [op.f for op in b.read_history().nemesis_ops()]
    assert nem == ["start-partition", "abort", "stop-partition"]  # the fault ended after the abort
    assert h.clusters[0].net.grudge == {} or not h.clusters[0].net.grudge
    assert o.exit_code == 2 and o.valid == "unknown"
    res = json.loads(b.results_file.read_text())["results"]
    assert res["no-stale"]["valid"] is True  # the checkers still ran on what was recorded
    assert "aborted at" in res["steady-state"]["summary"] and "healed" in res["steady-state"]["summary"]
