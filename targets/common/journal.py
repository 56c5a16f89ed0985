"""An append-only JSON-lines journal with group commit: what makes the broker and the sink survive kill -9.

``replay`` reads the records back at start, dropping (and truncating away) a torn last line left by a crash
mid-write; a corrupt line anywhere else is an error naming file and line. ``append`` returns a future that is
done once the record is written and fsync'd; records appended while a write is in progress are committed
together by the next single fsync, so throughput does not pay one fsync per record. ``append_nowait`` queues a
record that nobody waits for (delivery events). Standard library only.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from chaos_targets.common.jsonlines import decode, encode


class CorruptJournal(Exception):
    """A line before the last one is not a JSON object: the file was damaged, not just torn by a crash."""


def replay(path: str) -> list[dict[str, Any]]:
    """Read every record; truncate a torn tail so later appends stay line-aligned."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as fh:
        data = fh.read()
    records: list[dict[str, Any]] = []
    good = 0
    complete = data.split(b"\n")[:-1]  # whatever follows the last newline is a torn write: dropped
    for n, line in enumerate(complete, start=1):
        try:
            rec = decode(line)
        except ValueError:
            if n == len(complete):  # the crash tore the last record: drop it
                break
            raise CorruptJournal(
                f"{path}:{n}: corrupt record (not a JSON object); move the file away"
            ) from None
        records.append(rec)
        good += len(line) + 1
    if good != len(data):
        with open(path, "r+b") as fh:
            fh.truncate(good)
    return records


class Journal:
    """Group-committing appender; create it inside a running event loop."""

    def __init__(self, path: str, fsync: bool = True) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._fsync = fsync
        self._pending: list[tuple[bytes, asyncio.Future[None] | None]] = []
        self._flusher: asyncio.Task[None] | None = None

    def append(self, rec: dict[str, Any]) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue(rec, fut)
        return fut

    def append_nowait(self, rec: dict[str, Any]) -> None:
        self._queue(rec, None)

    def _queue(self, rec: dict[str, Any], fut: asyncio.Future[None] | None) -> None:
        self._pending.append((encode(rec), fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            data = b"".join(line for line, _ in batch)
            try:
                await loop.run_in_executor(None, self._write, data)
            except OSError as e:
                for _, fut in batch:
                    if fut is not None and not fut.done():
                        fut.set_exception(e)
                continue
            for _, fut in batch:
                if fut is not None and not fut.done():
                    fut.set_result(None)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)
