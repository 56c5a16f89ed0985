"""PostgreSQL's isolation levels, seen by the list-append workload through examples/postgres/txn.py.

Several workers run the seeded ``list-append`` workload against a real PostgreSQL 15 started on loopback,
each transaction through ``run_txn`` at the level under test, and the history is checked:
read committed shows anomalies the serializable model rejects and is valid under read-committed;
repeatable read (snapshot isolation) is valid under snapshot-isolation and shows nothing but G2-item;
serializable is valid under serializable. The default selection runs one short seed per level; the slow
tests run ten seeds per level.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pg_local import available, postgres_server

from harness.checkers.txn.check import list_append
from harness.history import History, HistoryWriter
from harness.runtime.interpreter import Interpreter
from harness.target import Completion
from harness.workloads.txn import ListAppendWorkload

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _load_txn_module() -> Any:
    spec = importlib.util.spec_from_file_location("pg_txn", ROOT / "examples" / "postgres" / "txn.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


pg_txn = _load_txn_module()


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    if not available():
        msg = "PostgreSQL 15 binaries not found at /usr/lib/postgresql/15/bin (apt-get install postgresql-15)"
        if os.environ.get("CHAOS_REQUIRE_INTEGRATION") == "1" or os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    with postgres_server() as conninfo:
        with psycopg.connect(conninfo) as conn:
            pg_txn.setup_schema(conn)
        yield conninfo


class PgTxnClient:
    def __init__(self, conninfo: str, isolation: str) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.isolation = isolation

    def invoke(self, f: str, value: Any) -> Completion:
        return pg_txn.run_txn(self.conn, value, self.isolation)

    def close(self) -> None:
        self.conn.close()


def run_level(conninfo: str, isolation: str, seed: int, txns_per_worker: int, workers: int = 6) -> History:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE txn_lists, txn_registers")
    opts = {"keys": 4, "max_txn_length": 4, "ops": txns_per_worker, "max_writes_per_key": 24}
    wl = ListAppendWorkload(opts)
    writer = HistoryWriter(None)
    client = lambda p: PgTxnClient(conninfo, isolation)  # noqa: E731
    with Interpreter(wl, client, writer, concurrency=workers, seed=seed) as interp:
        played = interp.run(120)  # each worker's plan ends after its transactions: the run ends with them
    assert played.ended == "done" and not played.crashes, played
    return writer.history()


def _types(h: History, model: str) -> tuple[Any, list[str]]:
    r = list_append(h, consistency_model=model)
    return r.valid, r.details["anomaly_types"]


def check_read_committed(h: History) -> bool:
    assert _types(h, "read-committed")[0] is True
    valid, found = _types(h, "serializable")
    return valid is False and bool(set(found) & {"G-single-item", "G2-item", "lost-update", "G1c"})


def check_repeatable_read(h: History) -> None:
    assert _types(h, "snapshot-isolation")[0] is True
    valid, found = _types(h, "serializable")
    assert set(found) <= {"G2-item"}, found


def check_serializable(h: History) -> None:
    assert _types(h, "serializable") == (True, [])


def _committed(h: History) -> int:
    return sum(1 for op in h if op.type == "ok")


def test_run_txn_outcomes(pg: str) -> None:
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("TRUNCATE txn_lists, txn_registers")
        out = pg_txn.run_txn(conn, [["append", "a", 1], ["append", "a", 2], ["r", "a", None]], "serializable")
        assert out == Completion("ok", [["append", "a", 1], ["append", "a", 2], ["r", "a", [1, 2]]])
        out = pg_txn.run_txn(conn, [["w", "b", 5], ["r", "b", None], ["r", "c", None]], "read committed")
        assert out == Completion("ok", [["w", "b", 5], ["r", "b", 5], ["r", "c", None]])
        other = psycopg.connect(pg, autocommit=True)
        try:  # a serialization failure is a definite fail, and the transaction left no trace
            other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            other.execute("SELECT v FROM txn_lists WHERE k = 'a'")
            pg_txn.run_txn(conn, [["append", "a", 3]], "read committed")
            lost = pg_txn.run_txn(other, [["append", "a", 4]], "repeatable read")
        finally:
            other.close()
    assert lost.type == "fail"
    with psycopg.connect(pg, autocommit=True) as conn:
        assert pg_txn.run_txn(conn, [["r", "a", None]], "serializable").value == [["r", "a", [1, 2, 3]]]


def test_read_committed_shows_anomalies_serializable_rejects(pg: str) -> None:
    h = run_level(pg, "read committed", seed=1, txns_per_worker=120)
    assert _committed(h) > 500
    assert check_read_committed(h)


def test_repeatable_read_is_snapshot_isolation(pg: str) -> None:
    check_repeatable_read(run_level(pg, "repeatable read", seed=1, txns_per_worker=120))


def test_serializable_is_serializable(pg: str) -> None:
    check_serializable(run_level(pg, "serializable", seed=1, txns_per_worker=120))


@pytest.mark.slow
def test_ten_seeds_per_level(pg: str) -> None:
    caught = 0
    for seed in range(10):
        caught += check_read_committed(run_level(pg, "read committed", seed, txns_per_worker=200))
        check_repeatable_read(run_level(pg, "repeatable read", seed, txns_per_worker=200))
        check_serializable(run_level(pg, "serializable", seed, txns_per_worker=200))
    print(f"read committed: anomalies a serializable check rejects in {caught}/10 seeds")
    assert caught >= 9, f"read committed: anomalies in only {caught}/10 seeds"


class _FakeCursor:
    def __init__(self, conn: _FakeConn) -> None:
        self.conn = conn

    def __enter__(self) -> _FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, sql: str, params: Any = None) -> None:
        self.conn.execute(sql)

    def fetchone(self) -> Any:
        return ([7],)


class _FakeConn:
    """Raises ``fail_on`` when a statement starting with ``at`` runs, so each error path can be reached."""

    def __init__(self, at: str, fail_on: Exception) -> None:
        self.at, self.fail_on, self.closed, self.autocommit = at, fail_on, False, True
        self.statements: list[str] = []

    def cursor(self) -> _FakeCursor:
        return _FakeCursor(self)

    def execute(self, sql: str, params: Any = None) -> None:
        self.statements.append(sql.split()[0])
        if sql.startswith(self.at):
            raise self.fail_on


@pytest.mark.parametrize(
    "at, error, outcome",
    [
        ("COMMIT", psycopg.OperationalError("server closed the connection unexpectedly"), "info"),
        ("COMMIT", psycopg.errors.SerializationFailure("could not serialize"), "fail"),
        ("INSERT", psycopg.errors.DeadlockDetected("deadlock detected"), "fail"),
        ("SELECT", psycopg.OperationalError("server closed the connection unexpectedly"), "fail"),
    ],
)
def test_outcomes_are_honest_about_where_the_error_struck(at: str, error: Exception, outcome: str) -> None:
    conn = _FakeConn(at, error)
    out = pg_txn.run_txn(conn, [["r", "a", None], ["append", "a", 1]], "serializable")
    assert out.type == outcome and out.value is None
    if at != "COMMIT":
        assert "ROLLBACK" in conn.statements and "COMMIT" not in conn.statements
