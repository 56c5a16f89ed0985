"""Durable Raft state: the current term, the vote and the log, behind one small ``Storage`` protocol.

The core (``core.py``) records every change through ``save_state`` / ``append`` / ``truncate`` and never waits
for the disk: the asyncio driver (``server.py``) calls ``sync()`` off the event loop before it sends any
message or answers any client that depends on those changes. ``MemoryStorage`` keeps everything in memory
(unit tests, and the ``volatile-log`` planted bug: a restarted node comes back empty). ``FileStorage`` appends
one JSON record per change to ``raft.log`` under the data dir and replays it on start; a torn last line (crash
mid-write) is ignored, because nothing that depended on it was ever sent before ``sync()`` returned.

Standard library only: nodes run this inside the target image.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Entry:
    """One log entry; ``command`` is ``None`` for the no-op a new leader appends to commit its term."""

    term: int
    command: Any = None


class StorageError(Exception):
    """The data dir cannot be used; the message is one complete line naming the path."""


@dataclass
class Loaded:
    term: int = 0
    vote: str | None = None
    entries: list[Entry] = field(default_factory=list)


class Storage(Protocol):
    def load(self) -> Loaded: ...

    def save_state(self, term: int, vote: str | None) -> None: ...

    def append(self, first_index: int, entries: list[Entry]) -> None:
        """Entries now occupy ``first_index``, ``first_index + 1``, ... (log indices start at 1)."""
        ...

    def truncate(self, from_index: int) -> None:
        """Entries at ``from_index`` and after are gone."""
        ...

    def sync(self) -> None:
        """Make every recorded change durable (may block: call it off the event loop)."""
        ...


class MemoryStorage:
    """Storage that survives a simulated restart (same object) but not a process restart."""

    def __init__(self) -> None:
        self.state = Loaded()

    def load(self) -> Loaded:
        return Loaded(self.state.term, self.state.vote, list(self.state.entries))

    def save_state(self, term: int, vote: str | None) -> None:
        self.state.term, self.state.vote = term, vote

    def append(self, first_index: int, entries: list[Entry]) -> None:
        del self.state.entries[first_index - 1 :]
        self.state.entries.extend(entries)

    def truncate(self, from_index: int) -> None:
        del self.state.entries[from_index - 1 :]

    def sync(self) -> None:
        return None


class FileStorage:
    """An append-only JSON-lines journal ``<data_dir>/raft.log``, fsync'd by ``sync()``. A new journal's
    directory is fsync'd too, so the file's name survives a power loss (POSIX: a create is durable once its
    directory is synced). ``fsync=False`` is a planted bug (``sync()`` only hands the records to the OS):
    a kill keeps them (the page cache survives the process), a power loss does not."""

    FILE = "raft.log"

    def __init__(self, data_dir: str, fsync: bool = True) -> None:
        self.path = os.path.join(data_dir, self.FILE)
        self.fsync = fsync
        try:
            os.makedirs(data_dir, exist_ok=True)
            new = not os.path.exists(self.path)
            self._fh = open(self.path, "a+b")  # noqa: SIM115 - held open for the node's lifetime
            if new and fsync:
                os.fsync(self._fh.fileno())
                sync_dir(data_dir)
        except OSError as e:
            raise StorageError(f"data dir {data_dir!r} is not usable: {e.strerror or e}") from e

    def load(self) -> Loaded:
        out = Loaded()
        try:
            self._fh.seek(0)
            raw = self._fh.read()
        except OSError as e:
            raise StorageError(f"{self.path}: cannot read the Raft journal: {e.strerror or e}") from e
        lines = raw.split(b"\n")
        good_end = 0
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                good_end += len(line) + 1
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                if lineno == len(lines):  # torn tail of a crashed write: never acknowledged
                    break
                raise StorageError(f"{self.path}:{lineno}: corrupt Raft journal record ({e})") from e
            good_end += len(line) + 1
            kind = rec.get("k")
            if kind == "s":
                out.term, out.vote = int(rec["term"]), rec["vote"]
            elif kind == "a":
                del out.entries[int(rec["i"]) - 1 :]
                out.entries.extend(Entry(int(t), c) for t, c in rec["e"])
            elif kind == "t":
                del out.entries[int(rec["i"]) - 1 :]
            else:
                raise StorageError(f"{self.path}:{lineno}: unknown record kind {kind!r}; expected s, a or t")
        if good_end < len(raw):
            self._fh.truncate(good_end)  # drop a torn tail so the next record starts on its own line
        elif raw and not raw.endswith(b"\n"):
            self._fh.write(b"\n")  # a whole record whose newline was cut off
        return out

    def _write(self, rec: dict[str, Any]) -> None:
        self._fh.write(json.dumps(rec, separators=(",", ":")).encode() + b"\n")

    def save_state(self, term: int, vote: str | None) -> None:
        self._write({"k": "s", "term": term, "vote": vote})

    def append(self, first_index: int, entries: list[Entry]) -> None:
        self._write({"k": "a", "i": first_index, "e": [[e.term, e.command] for e in entries]})

    def truncate(self, from_index: int) -> None:
        self._write({"k": "t", "i": from_index})

    def flush(self) -> None:
        """Hand buffered records to the OS (cheap: on the event loop, before ``sync`` runs in a thread)."""
        self._fh.flush()

    def sync(self) -> None:
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def sync_dir(path: str) -> None:
    """fsync a directory: the names created, removed or renamed in it are then durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
