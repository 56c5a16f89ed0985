"""Newline-delimited JSON over TCP, for Raft peers and clients alike (standard library asyncio only).

``serve_lines`` runs a server whose connections carry one JSON object per line; each request is handled in its
own task and answered (if the handler returns a dict) with the request's ``"id"`` copied, so one connection
can carry many concurrent calls. ``PeerLink`` is this node's single outbound connection to one peer (through
that peer's Toxiproxy proxy in a harness run): ``send`` is fire-and-forget (Raft messages; dropped while the
link is down), ``call`` waits for the matching reply under a timeout and raises ``LinkUnknown`` when none
comes (the peer may or may not have acted). The link reconnects by itself with a short back-off, never blocks
its caller, and is torn down when a write cannot drain (a blackholed connection) or when the owner calls
``reset()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from chaos_targets.common.jsonlines import encode, read_objects

LINE_LIMIT = 16 * 1024 * 1024
CONNECT_TIMEOUT = 1.0
DRAIN_TIMEOUT = 2.0
BACKOFF = 0.1

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


class LinkUnknown(Exception):
    """No reply in time, or the connection broke after the request may have been sent."""


async def serve_lines(host: str, port: int, handler: Handler) -> asyncio.Server:
    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lock = asyncio.Lock()
        tasks: set[asyncio.Task[None]] = set()

        async def answer(req: dict[str, Any]) -> None:
            try:
                resp = await handler(req)
            except Exception as e:  # a handler bug must not kill the connection
                resp = {"ok": False, "error": f"internal error: {type(e).__name__}: {e}", "definite": False}
            if resp is None:
                return
            if "id" in req:
                resp = {**resp, "id": req["id"]}
            async with lock:
                with contextlib.suppress(Exception):
                    writer.write(encode(resp))
                    await asyncio.wait_for(writer.drain(), DRAIN_TIMEOUT)

        try:
            async for item in read_objects(reader):
                req = {"op": "invalid"} if isinstance(item, ValueError) else item
                t = asyncio.create_task(answer(req))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
        except (ConnectionError, asyncio.LimitOverrunError, ValueError, asyncio.CancelledError):
            pass  # a broken or oversized stream ends this connection; cancelled: the server is stopping
        finally:
            writer.close()

    return await asyncio.start_server(on_conn, host, port, limit=LINE_LIMIT, reuse_address=True)


class PeerLink:
    def __init__(self, host: str, port: int, log: Callable[[str], None] | None = None) -> None:
        self.host, self.port = host, port
        self._log = log or (lambda _m: None)
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._connected = asyncio.Event()
        self._broken = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        self._closed = True
        self.reset()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    @property
    def connected(self) -> bool:
        return self._writer is not None

    def reset(self) -> None:
        """Drop the current connection (it will be re-opened); pending calls become unknown."""
        self._broken.set()

    def send(self, msg: dict[str, Any]) -> None:
        w = self._writer
        if w is None:
            return
        w.write(encode(msg))
        if w.transport.get_write_buffer_size() > 4 * 1024 * 1024:  # peer not reading: a blackhole
            self.reset()

    async def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._writer is None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._connected.wait(), min(timeout, CONNECT_TIMEOUT))
        w = self._writer
        if w is None:
            raise ConnectionRefusedError(f"no connection to {self.host}:{self.port}")
        rid = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[rid] = fut
        try:
            w.write(encode({**request, "id": rid}))
            return await asyncio.wait_for(fut, max(0.0, deadline - loop.time()))
        except (TimeoutError, ConnectionError) as e:
            raise LinkUnknown(f"no reply from {self.host}:{self.port}: {type(e).__name__}") from e
        finally:
            self._pending.pop(rid, None)

    async def _run(self) -> None:
        while not self._closed:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, limit=LINE_LIMIT), CONNECT_TIMEOUT
                )
            except (TimeoutError, OSError):
                await asyncio.sleep(BACKOFF)
                continue
            self._broken.clear()
            self._writer = writer
            self._connected.set()
            reading = asyncio.create_task(self._read(reader))
            broken = asyncio.create_task(self._broken.wait())
            await asyncio.wait({reading, broken}, return_when=asyncio.FIRST_COMPLETED)
            reading.cancel()
            broken.cancel()
            self._writer = None
            self._connected.clear()
            writer.close()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionResetError("connection lost"))
            await asyncio.sleep(BACKOFF)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError, ValueError, asyncio.LimitOverrunError):
            while True:
                line = await reader.readline()
                if not line:
                    return
                try:
                    resp = json.loads(line)
                except ValueError:
                    continue
                rid = resp.get("id") if isinstance(resp, dict) else None
                fut = self._pending.get(rid) if isinstance(rid, int) else None
                if fut is not None and not fut.done():
                    fut.set_result(resp)
