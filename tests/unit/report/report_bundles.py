"""Builders of small run bundles for report tests: valid, linearizability / exactly-once / lock violations,
unknown, and crashed. Each writes a real bundle (``Bundle`` + ``HistoryWriter``) with results.json shaped as
``Composite.to_dict()`` plus ``outcome``, as the runner writes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.bundle import Bundle
from harness.history import HistoryWriter
from harness.record import RunRecord

XSS = "<script>alert(1)</script>"
MS = 1_000_000


class Clock:
    """A settable clock (ns) so histories have exact, readable times."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class Recorder:
    def __init__(self, bundle: Bundle) -> None:
        self.clock = Clock()
        self.w = HistoryWriter(bundle.history_file, clock=self.clock)

    def at(self, ms: float, process: Any, type_: Any, f: str, value: Any = None, **kw: Any) -> int:
        self.clock.now = int(ms * MS)
        return self.w.record(process, type_, f, value, **kw).index

    def call(
        self, t0: float, t1: float, process: Any, f: str, value: Any, type_: str = "ok", result: Any = None
    ) -> int:
        i = self.at(t0, process, "invoke", f, value)
        self.at(t1, process, type_, f, value if result is None else result)
        return i


def _run(name: str, target: str, expect: str = "valid", **extra: Any) -> RunRecord:
    meta: dict[str, Any] = {
        "experiment": name,
        "seed": 4242,
        "target": target,
        "nodes": ["n1", "n2", "n3"],
        "flags": [],
        "backend": "local",
        "expect": expect,
        "replay": f"chaos replay reports/{name}/20250101-000000-000",
        "started": "2025-01-01T00:00:00Z",
        "finished": "2025-01-01T00:00:05Z",
        "status": "finished",
        "workload": {"concurrency": 3},
    }
    meta.update(extra)
    return RunRecord.from_dict(meta)


def _results(
    name: str, valid: Any, details: dict[str, Any], outcome: str, summary: str = "", error: str | None = None
) -> dict[str, Any]:
    r: dict[str, Any] = {"checker": name, "valid": valid, "summary": summary, "details": details}
    if error:
        r["error"] = error
    return {"valid": valid, "results": {name: r}, "outcome": outcome}


def _write_results(b: Bundle, data: dict[str, Any]) -> None:
    import json

    b.results_file.write_text(json.dumps(data), encoding="utf-8")


def partition(rec: Recorder, start: float, end: float) -> None:
    v = {
        "kind": "partition",
        "nodes": ["n1", "n2", "n3"],
        "grudge": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]},
    }
    rec.at(start, "nemesis", "info", "start-partition", v)
    rec.at(end, "nemesis", "info", "stop-partition", v)


def kv_valid(root: Path) -> Bundle:
    b = Bundle.create(root, "kv-register")
    b.write_run(_run("kv-register", "kv"))
    rec = Recorder(b)
    rec.call(0, 10, 0, "write", {"key": "k1", "value": 1})
    rec.call(5, 20, 1, "read", {"key": "k1", "value": None}, result={"key": "k1", "value": 1})
    partition(rec, 25, 60)
    rec.call(30, 40, 2, "cas", {"key": "k1", "from": 1, "to": 2}, type_="fail")
    rec.call(45, 90, 0, "write", {"key": "k1", "value": 3}, type_="info")
    rec.call(70, 80, 1, "read", {"key": "k1", "value": None}, result={"key": "k1", "value": 3})
    rec.w.close()
    (b.logs_dir / "n1.log").write_text("n1 started\nn1 became leader\n", encoding="utf-8")
    _write_results(
        b,
        _results(
            "linearizable",
            True,
            {
                "model": "kv",
                "parts": 1,
                "ops": 5,
                "failed_part": None,
                "unknown_parts": [],
                "elapsed_s": 0.01,
            },
            "pass",
            "linearizable",
        ),
    )
    return b


def kv_stale(root: Path, key: str = XSS) -> tuple[Bundle, dict[str, int]]:
    """A stale read: p0 writes 1, p1 writes 2 (both ok), then p2 reads 1. The read cannot be linearized."""
    b = Bundle.create(root, "kv-stale-read")
    b.write_run(_run("kv-stale-read", "kv", expect="invalid", flags=["stale-read"]))
    rec = Recorder(b)
    ids = {}
    partition(rec, 15, 50)
    ids["w1"] = rec.call(0, 10, 0, "write", {"key": key, "value": 1})
    ids["w2"] = rec.call(20, 30, 1, "write", {"key": key, "value": 2})
    ids["r"] = rec.call(40, 45, 2, "read", {"key": key, "value": None}, result={"key": key, "value": 1})
    rec.w.close()
    details = {
        "model": "kv",
        "parts": 1,
        "ops": 3,
        "failed_part": {
            "key": key,
            "ops": [ids["w1"], ids["w2"], ids["r"]],
            "longest": [[ids["w1"], ids["w2"]]],
            "stuck_ops": [ids["r"]],
            "final_state": 2,
            "describe": {str(ids["r"]): "get() -> 1"},
        },
        "unknown_parts": [],
        "elapsed_s": 0.01,
    }
    _write_results(b, _results("linearizable", False, details, "pass", "not linearizable"))
    return b, ids


def queue_violation(root: Path) -> tuple[Bundle, dict[str, int]]:
    b = Bundle.create(root, "queue-redeliver")
    b.write_run(_run("queue-redeliver", "queue", expect="invalid"))
    rec = Recorder(b)
    ids = {}
    for n, msg in enumerate(["m1", "m2", "m3"]):
        ids[msg] = rec.call(n * 10, n * 10 + 5, n, "send", {"msg": msg, "account": "a", "amount": 5})
    rec.at(40, "nemesis", "info", "start-kill", {"kind": "kill", "nodes": ["n2"]})
    rec.at(55, "nemesis", "info", "stop-kill", {"kind": "kill", "nodes": ["n2"]})
    effects = [
        {"msg": "m1", "id": 1, "consumer": "c1", "account": "a", "amount": 5, "time": None},
        {"msg": "m3", "id": 3, "consumer": "c1", "account": "a", "amount": 5, "time": None},
        {"msg": "m3", "id": 3, "consumer": "c2", "account": "a", "amount": 5, "time": None},
        {"msg": "m9", "id": 9, "consumer": "c2", "account": "a", "amount": 1, "time": None},
    ]
    deliveries = [
        {"msg": "m2", "id": 2, "consumer": "c1", "event": "deliver", "time": 1},
        {"msg": "m3", "id": 3, "consumer": "c1", "event": "deliver", "time": 2},
        {"msg": "m3", "id": 3, "consumer": "c2", "event": "redeliver", "time": 3},
        {"msg": "m3", "id": 3, "consumer": "c2", "event": "ack", "time": 4},
    ]
    rec.call(60, 61, 0, "read-effects", None, result=effects)
    rec.call(62, 63, 0, "read-deliveries", None, result=deliveries)
    rec.w.close()
    details = {
        "lost": [{"msg": "m2", "send_index": ids["m2"]}],
        "duplicated": [{"msg": "m3", "count": 2, "effects": effects[1:3]}],
        "unexpected": [{"msg": "m9", "effects": effects[3:]}],
        "recovered": [],
        "counts": {"sent_ok": 3, "sent_info": 0, "sent_fail": 0, "applied": 4},
    }
    _write_results(b, _results("exactly-once", False, details, "pass"))
    return b, ids


def lock_violation(root: Path) -> Bundle:
    b = Bundle.create(root, "lock-no-fencing")
    b.write_run(_run("lock-no-fencing", "lock", expect="valid"))
    rec = Recorder(b)
    g1 = rec.call(
        0,
        5,
        0,
        "acquire",
        {"lock": "L"},
        result={"lock": "L", "token": 3, "lease_ms": 100, "granted_at": 0, "expires_at": 100},
    )
    rec.at(10, "nemesis", "info", "start-pause", {"kind": "pause", "nodes": ["n1"]})
    rec.at(30, "nemesis", "info", "stop-pause", {"kind": "pause", "nodes": ["n1"]})
    g2 = rec.call(
        12,
        18,
        1,
        "acquire",
        {"lock": "L"},
        result={"lock": "L", "token": 3, "lease_ms": 100, "granted_at": 12, "expires_at": 112},
    )
    rec.call(20, 25, 1, "write", {"lock": "L", "token": 4, "data": "x"})
    rec.w.close()
    details = {
        "overlaps": [
            {
                "a": {"process": 0, "token": 3, "first_write": 100, "last_write": 400},
                "b": {"process": 1, "token": 4, "first_write": 250, "last_write": 500},
            }
        ],
        "token_regressions": [{"seq": 7, "token": 3, "previous_token": 4}],
        "duplicate_grants": [{"token": 3, "grants": [g1, g2]}],
        "lease_overlaps": [
            {
                "lock": "L",
                "first": {"process": 0, "token": 3, "granted_at": 2, "expires_at": 102, "op": g1},
                "second": {"process": 1, "token": 3, "granted_at": 12, "expires_at": 112, "op": g2},
            }
        ],
        "grants": 2,
        "writes": 5,
    }
    _write_results(b, _results("lock-safety", False, details, "fail"))
    return b


def unknown(root: Path) -> Bundle:
    b = Bundle.create(root, "kv-big")
    b.write_run(_run("kv-big", "kv"))
    rec = Recorder(b)
    rec.call(0, 10, 0, "write", {"key": "k1", "value": 1})
    rec.w.close()
    details = {
        "model": "kv",
        "parts": 1,
        "ops": 1,
        "failed_part": None,
        "unknown_parts": ["k1"],
        "elapsed_s": 10.0,
    }
    _write_results(
        b,
        _results(
            "linearizable", "unknown", details, "unknown", "budget spent", error="time budget of 10 s spent"
        ),
    )
    return b


def crashed(root: Path) -> Bundle:
    b = Bundle.create(root, "kv-crash")
    b.write_run(_run("kv-crash", "kv", status="crashed", finished=None, outcome=None))
    rec = Recorder(b)
    rec.call(0, 10, 0, "write", {"key": "k1", "value": 1})
    rec.at(12, 1, "invoke", "read", {"key": "k1", "value": None})
    rec.at(13, "nemesis", "info", "start-partition", {"kind": "partition", "nodes": ["n1"]})
    rec.w.close()
    return b
