"""One list-append or rw-register transaction as one PostgreSQL transaction, with an honest outcome.

The PostgreSQL example target's client calls ``run_txn(conn, micro_ops, isolation)`` for each ``txn``
operation of the ``list-append`` / ``rw-register`` workloads (harness/workloads/txn.py) and returns its
``Completion`` to the worker. Lists live in ``txn_lists (k text primary key, v bigint[])`` and registers in
``txn_registers (k text primary key, v bigint)``; ``setup_schema`` creates both. An append is
``INSERT .. ON CONFLICT DO UPDATE SET v = v || new``, a write an upsert, a read a ``SELECT`` (a missing row
reads as ``[]`` / ``null``). Keys may be any value (stored as text); values are integers.

Outcomes: ``ok`` with the reads filled in when COMMIT succeeded; ``fail`` when the transaction certainly did
not commit: a serialization failure or deadlock (SQLSTATE 40001 / 40P01), any statement error, or the
connection lost before COMMIT was sent (the server rolls back an open transaction whose session ends);
``info`` when the connection was lost or timed out while COMMIT was in flight (it may have committed).
The connection must not be inside a transaction; it is used in autocommit mode with explicit BEGIN / COMMIT.
After an outcome whose connection is gone (``conn.closed`` or ``conn.broken``) the caller opens a new one.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors

from harness.target import Completion

ISOLATION_LEVELS = ("read committed", "repeatable read", "serializable")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS txn_lists (k text PRIMARY KEY, v bigint[] NOT NULL)",
    "CREATE TABLE IF NOT EXISTS txn_registers (k text PRIMARY KEY, v bigint)",
)
_APPEND = (
    "INSERT INTO txn_lists AS t (k, v) VALUES (%s, ARRAY[%s]::bigint[]) "
    "ON CONFLICT (k) DO UPDATE SET v = t.v || EXCLUDED.v"
)
_WRITE = "INSERT INTO txn_registers AS t (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
_READ_LIST = "SELECT v FROM txn_lists WHERE k = %s"
_READ_REGISTER = "SELECT v FROM txn_registers WHERE k = %s"
_ABORTS = (errors.SerializationFailure, errors.DeadlockDetected)


def setup_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the list and register tables (idempotent).

    On an autocommit connection each statement commits by itself; inside an open transaction (e.g. one that
    holds an advisory lock so that concurrent clients do not race on ``CREATE TABLE IF NOT EXISTS``) they join
    it and commit with it.
    """
    for stmt in SCHEMA:
        conn.execute(stmt)


def run_txn(
    conn: psycopg.Connection[Any], micro_ops: list[list[Any]], isolation: str, workload: str | None = None
) -> Completion:
    """Run the micro-ops as one transaction at ``isolation``; see the module docstring for the outcomes.

    ``workload`` (``list-append`` or ``rw-register``) says which table reads use; by default a transaction
    with a ``w`` is a register one and any other (appends, or reads only) a list one.
    """
    if isolation not in ISOLATION_LEVELS:
        raise ValueError(f"isolation {isolation!r} is not one of {', '.join(ISOLATION_LEVELS)}")
    if workload is None:
        workload = "rw-register" if any(m[0] == "w" for m in micro_ops) else "list-append"
    lists = workload == "list-append"
    done: list[list[Any]] = []
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"BEGIN ISOLATION LEVEL {isolation.upper()}")
            for f, k, v in micro_ops:
                key = str(k)
                if f == "append":
                    cur.execute(_APPEND, (key, v))
                    done.append([f, k, v])
                elif f == "w":
                    cur.execute(_WRITE, (key, v))
                    done.append([f, k, v])
                elif f == "r":
                    cur.execute(_READ_LIST if lists else _READ_REGISTER, (key,))
                    row = cur.fetchone()
                    got = (list(row[0]) if row else []) if lists else (row[0] if row else None)
                    done.append([f, k, got])
                else:
                    _rollback(conn)
                    return Completion("fail", None, f"unknown micro-op {f!r}")
    except _ABORTS as e:
        _rollback(conn)
        return Completion("fail", None, f"{e.sqlstate}: {type(e).__name__}")
    except psycopg.Error as e:  # a statement error, or the connection lost before COMMIT: not committed
        _rollback(conn)
        return Completion("fail", None, f"{type(e).__name__}: {str(e).strip()[:200]}")
    try:
        conn.execute("COMMIT")
    except _ABORTS as e:
        return Completion("fail", None, f"{e.sqlstate}: {type(e).__name__} at commit")
    except psycopg.Error as e:
        if getattr(e, "sqlstate", None) and not isinstance(e, psycopg.OperationalError):
            return Completion("fail", None, f"{type(e).__name__} at commit: {str(e).strip()[:200]}")
        return Completion("info", None, f"commit outcome unknown: {type(e).__name__}: {str(e).strip()[:200]}")
    return Completion("ok", done)


def _rollback(conn: psycopg.Connection[Any]) -> None:
    try:
        if not conn.closed:
            conn.execute("ROLLBACK")
    except psycopg.Error:
        pass  # the session is gone: the server has rolled the transaction back
