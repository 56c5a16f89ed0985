"""The line protocol of the queue and lock services: one JSON object per line over TCP, request then reply.

Standard library only (it runs inside the target image). ``serve`` runs an asyncio server around a handler;
``AsyncConn`` is the services' own client (a consumer calling the broker and the sink); ``LineClient`` is the
blocking client the harness-side adapters use. Clients sort failures by what they say about the request:
``NotSent`` (it certainly never reached the server: the connection was refused) versus ``Indefinite`` (it may
have been processed: a timeout or a connection lost after sending), so that callers can record ``fail`` or
``info`` honestly.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from chaos_targets.common.jsonlines import encode, read_objects

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
MAX_LINE = 64 * 1024 * 1024


class NotSent(Exception):
    """The request certainly did not reach the server (connection refused or never opened)."""


class Indefinite(Exception):
    """The request may or may not have been processed (timeout, reset, or closed after sending)."""


async def serve(host: str, port: int, handler: Handler) -> asyncio.Server:
    """Serve ``handler`` on host:port; a malformed line gets ``{"ok": false, "error": "bad-request:
    ..."}``."""

    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async for req in read_objects(reader):
                if isinstance(req, ValueError):
                    reply: dict[str, Any] = {"ok": False, "error": f"bad-request: {req}"}
                else:
                    reply = await handler(req)
                writer.write(encode(reply))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(on_conn, host, port, limit=MAX_LINE, reuse_address=True)


class AsyncConn:
    """A reconnecting asyncio client for one server; one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._r: asyncio.StreamReader | None = None
        self._w: asyncio.StreamWriter | None = None

    async def call(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self._w is None:
            try:
                self._r, self._w = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, limit=MAX_LINE), timeout
                )
            except (TimeoutError, OSError) as e:
                raise NotSent(f"connect {self.host}:{self.port}: {e}") from None
        assert self._r is not None and self._w is not None
        try:
            self._w.write(encode(req))
            line = await asyncio.wait_for(self._r.readline(), timeout)
        except (TimeoutError, OSError) as e:
            self.close()
            raise Indefinite(f"{self.host}:{self.port}: {type(e).__name__} {e}") from None
        if not line:
            self.close()
            raise Indefinite(f"{self.host}:{self.port}: connection closed")
        reply = json.loads(line)
        if not isinstance(reply, dict):
            raise Indefinite(f"{self.host}:{self.port}: malformed reply")
        return reply

    def close(self) -> None:
        if self._w is not None:
            self._w.close()
        self._r = self._w = None


class LineClient:
    """A blocking, reconnecting client for one server (used by harness-side adapters and benchmarks)."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._buf = b""

    def call(self, req: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        t = self.timeout if timeout is None else timeout
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=t)
            except OSError as e:
                raise NotSent(f"connect {self.host}:{self.port}: {e}") from None
            self._buf = b""
        self._sock.settimeout(t)
        try:
            self._sock.sendall(encode(req))
            while b"\n" not in self._buf:
                chunk = self._sock.recv(1 << 16)
                if not chunk:
                    raise ConnectionResetError("connection closed by server")
                self._buf += chunk
        except OSError as e:
            self.close()
            raise Indefinite(f"{self.host}:{self.port}: {type(e).__name__} {e}") from None
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            reply = json.loads(line)
        except ValueError:
            self.close()
            raise Indefinite(f"{self.host}:{self.port}: malformed reply") from None
        if not isinstance(reply, dict):
            raise Indefinite(f"{self.host}:{self.port}: malformed reply")
        return reply

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._buf = b""
