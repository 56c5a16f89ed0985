"""``RedisClient``: the kv workload's read / write / cas on a Redis primary (and, in one mode, its replicas).

RESP over a plain socket, one request in flight. Writes (``SET``) and cas (a Lua script comparing the value,
atomic on the primary) always go to the primary: the first node of the role ``primary`` (else the first
node). Reads (``GET``) go to the primary too, unless the run's mode is ``replica-reads``: then each worker
reads from one replica (``process % replicas``), which may lag or be cut off from the primary -- the planted
misconfiguration the linearizability checker must catch.

Completions are honest: a refused connection (nothing sent) and an error reply (Redis answers errors before it
executes anything: READONLY, LOADING, MASTERDOWN) are ``fail``; a timeout or a connection lost after sending
is ``info`` for a write or cas and ``fail`` for a read. Every outcome names the node that served it.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from chaos_examples.primary_replica import primary_and_reader
from harness.target import Addr, ClientContext, Completion

CAS_SCRIPT = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 "
    "else return 0 end"
)


class RespError(Exception):
    """An error reply (``-ERR ...``): Redis refused the command before running it."""


class Resp:
    """One RESP connection: ``call(*args)`` -> the decoded reply; raises ``RespError`` or ``OSError``."""

    def __init__(self, addr: Addr, timeout: float) -> None:
        self.sock = socket.create_connection((addr.host, addr.port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def call(self, *args: str) -> Any:
        out = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        try:
            self.sock.sendall(b"".join(out))
        except OSError as e:
            raise ConnectionResetError(f"send failed: {e}") from e
        return self.reply()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("connection closed by the server")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("connection closed by the server")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def reply(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:].decode()
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RespError(rest)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if int(rest) < 0 else self._exact(int(rest)).decode()
        if kind == b"*":
            return None if int(rest) < 0 else [self.reply() for _ in range(int(rest))]
        raise ConnectionResetError(f"malformed reply {line[:40]!r}")


def _value(s: str | None) -> Any:
    if s is None:
        return None
    try:
        return int(s)
    except ValueError:
        return s


class RedisClient:
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
            raise ValueError("RedisClient needs at least one node address")
        self.primary, self.reader = primary_and_reader(nodes, process, context, roles)
        self.addrs = dict(nodes)
        self.timeout = timeout
        self.conns: dict[str, Resp] = {}

    def close(self) -> None:
        for c in self.conns.values():
            c.close()
        self.conns.clear()

    def _drop(self, node: str) -> None:
        c = self.conns.pop(node, None)
        if c is not None:
            c.close()

    def _call(self, node: str, *args: str) -> Any:
        conn = self.conns.get(node)
        if conn is None:
            conn = self.conns[node] = Resp(self.addrs[node], self.timeout)  # may raise: nothing sent
        return conn.call(*args)

    def invoke(self, f: str, value: Any) -> Completion:
        if f not in ("read", "write", "cas") or not isinstance(value, dict) or "key" not in value:
            return Completion("fail", error=f"unsupported op {f!r} with value {value!r}")
        key = str(value["key"])
        node = self.reader if f == "read" else self.primary
        try:
            if f == "read":
                got = self._call(node, "GET", key)
                return Completion("ok", {"key": value["key"], "value": _value(got)}, node=node)
            if f == "write":
                self._call(node, "SET", key, str(value["value"]))
                return Completion("ok", dict(value), node=node)
            done = self._call(node, "EVAL", CAS_SCRIPT, "1", key, str(value["from"]), str(value["to"]))
            if done == 1:
                return Completion("ok", dict(value), node=node)
            return Completion("fail", error="mismatch", node=node)
        except RespError as e:
            return Completion("fail", error=str(e)[:200], node=node)
        except OSError as e:
            sent = node in self.conns  # the connection existed, so the request may have left
            self._drop(node)
            error = f"{type(e).__name__}: {e}"
            if not sent or isinstance(e, ConnectionRefusedError) or f == "read":
                return Completion("fail", error=error, node=node)
            return Completion("info", error=error, node=node)
