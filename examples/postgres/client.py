"""``PostgresClient``: the kv workload on a PostgreSQL primary's table (psycopg 3), and list-append ``txn``.

Table ``kv(key text primary key, value text)``, created on first use under an advisory lock. ``write`` is an
upsert, ``cas`` an ``UPDATE ... WHERE value = from`` (no row: ``mismatch``), ``read`` a ``SELECT``; each in
autocommit on the primary (the first node of role ``primary``). In mode ``replica-reads`` reads go to a
replica (``process % replicas``), which applies the primary's WAL asynchronously: stale reads are caught.
``txn`` (list-append micro-ops) is handed to ``chaos_examples.postgres.txn.run_txn(conn, micro_ops,
isolation)`` when that module is present (``isolation`` from the target option, default ``serializable``),
always on the primary.

Schema: each client, on its first operation against the primary (and again after a failed attempt), creates
the ``kv`` table and, when the txn module is present, its tables (``setup_schema``) in one transaction holding
an advisory lock, so concurrent clients do not race on ``CREATE TABLE IF NOT EXISTS``.

Outcomes are honest: a connection that could not be made (nothing sent) and an error the server raised
before committing are ``fail``; a timeout or a connection lost mid-statement is ``info`` for a write or cas
and ``fail`` for a read. A ``txn`` is ``info`` only when the connection was lost while its COMMIT was in
flight (``run_txn``); lost before COMMIT (or before the transaction began) it is ``fail``: the server rolls
back the open transaction of a session that ends. A connection found broken after an operation is dropped,
so the next operation reconnects (e.g. after the primary restarted). psycopg has no client-side statement
timeout, so a watchdog shuts the socket down after ``timeout`` seconds (a paused or cut-off server would
otherwise hang the worker).
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from chaos_examples.primary_replica import primary_and_reader
from harness.target import Addr, ClientContext, Completion

CONNECT_BACKOFF = 0.05  # seconds a worker waits after a connection could not be made
SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key text PRIMARY KEY, value text)"


def _txn_module() -> Any:
    try:
        return importlib.import_module("chaos_examples.postgres.txn")
    except ImportError:
        return None


def _txn_runner() -> Callable[..., Completion] | None:
    return getattr(_txn_module(), "run_txn", None)


def _txn_schema() -> Callable[[Any], None] | None:
    return getattr(_txn_module(), "setup_schema", None)


def _value(s: str | None) -> Any:
    if s is None:
        return None
    try:
        return int(s)
    except ValueError:
        return s


class _Watchdog:
    """Shuts the connection's socket down if a statement outlives ``timeout`` (the blocked call raises)."""

    def __init__(self, conn: Any, timeout: float) -> None:
        self.conn, self.fired = conn, False
        self.timer = threading.Timer(timeout, self._fire)

    def _fire(self) -> None:
        self.fired = True
        try:
            s = socket.socket(fileno=socket.dup(self.conn.fileno()))
            try:
                s.shutdown(socket.SHUT_RDWR)
            finally:
                s.close()
        except (OSError, ValueError):
            pass

    def __enter__(self) -> _Watchdog:
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()


class PostgresClient:
    def __init__(
        self,
        nodes: Mapping[str, Addr],
        process: int,
        timeout: float,
        *,
        context: ClientContext | None = None,
        roles: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        if not nodes:
            raise ValueError("PostgresClient needs at least one node address")
        self.primary, self.reader = primary_and_reader(nodes, process, context, roles)
        options = context.options if context is not None else {}
        self.isolation = str(options.get("isolation", "serializable")).lower()
        levels = getattr(_txn_module(), "ISOLATION_LEVELS", None)
        if levels is not None and self.isolation not in levels:
            raise ValueError(f"options.isolation: {self.isolation!r} is not one of {', '.join(levels)}")
        self.addrs = dict(nodes)
        self.timeout = timeout
        self.conns: dict[str, Any] = {}
        self.schema_ready = False

    def close(self) -> None:
        for c in self.conns.values():
            c.close()
        self.conns.clear()

    def _conn(self, node: str) -> Any:
        import psycopg  # imported here: declaring the target must not need the driver

        conn = self.conns.get(node)
        if conn is None or conn.closed:
            addr = self.addrs[node]
            conn = psycopg.connect(
                host=addr.host,
                port=addr.port,
                user="postgres",
                dbname="postgres",
                connect_timeout=max(2, int(self.timeout + 0.999)),
                autocommit=True,
            )
            self.conns[node] = conn
        return conn

    def _drop(self, node: str) -> None:
        conn = self.conns.pop(node, None)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - the connection is already broken; closing is best effort
                pass

    def _ensure_schema(self, conn: Any) -> None:
        if self.schema_ready:
            return
        txn_schema = _txn_schema()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(7242)")  # concurrent CREATE IF NOT EXISTS can race
            conn.execute(SCHEMA)
            if txn_schema is not None:
                txn_schema(conn)
        self.schema_ready = True

    def _run(self, f: str, value: Any, node: str) -> Completion:
        conn = self._conn(node)
        with _Watchdog(conn, self.timeout):
            if node == self.primary:
                self._ensure_schema(conn)
            if f == "txn":
                runner = _txn_runner()
                if runner is None:
                    return Completion("fail", error="txn unsupported", node=node)
                out = runner(conn, value, self.isolation)
                if conn.closed or conn.broken:
                    self._drop(node)  # the session is gone: the next op reconnects
                return Completion(out.type, out.value, out.error, node=node)
            key = str(value["key"])
            if f == "read":
                row = conn.execute("SELECT value FROM kv WHERE key = %s", (key,)).fetchone()
                return Completion(
                    "ok", {"key": value["key"], "value": _value(row[0] if row else None)}, node=node
                )
            if f == "write":
                conn.execute(
                    "INSERT INTO kv (key, value) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    (key, str(value["value"])),
                )
                return Completion("ok", dict(value), node=node)
            cur = conn.execute(
                "UPDATE kv SET value = %s WHERE key = %s AND value = %s",
                (str(value["to"]), key, str(value["from"])),
            )
            if cur.rowcount == 1:
                return Completion("ok", dict(value), node=node)
            return Completion("fail", error="mismatch", node=node)

    def invoke(self, f: str, value: Any) -> Completion:
        import psycopg

        if f == "txn":
            node = self.primary
        elif f in ("read", "write", "cas") and isinstance(value, dict) and "key" in value:
            node = self.reader if f == "read" else self.primary
        else:
            return Completion("fail", error=f"unsupported op {f!r} with value {value!r}")
        connected = node in self.conns
        try:
            return self._run(f, value, node)
        except psycopg.OperationalError as e:
            sent = connected or node in self.conns
            self._drop(node)
            if not sent:  # refused or unreachable: back off a little rather than spin on connect
                time.sleep(min(CONNECT_BACKOFF, self.timeout))
            error = f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
            # A txn raises here only from connecting or creating the schema: its transaction never began.
            if not sent or f in ("read", "txn"):
                return Completion("fail", error=error, node=node)
            return Completion("info", error=error, node=node)
        except psycopg.Error as e:
            # The server raised an error for the statement (it was rolled back): certainly not applied.
            why = f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
            return Completion("fail", error=why, node=node)
