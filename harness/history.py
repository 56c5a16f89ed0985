"""The immutable history, invoke/complete pairing, and the line-per-op JSON format (``history.jsonl``).

A run appends ops through a ``HistoryWriter`` (thread-safe, one flushed line per op, so a crash loses at most
the last line); everything downstream reads a ``History``. Importers of foreign formats (Jepsen EDN, Porcupine
logs) live in ``harness.importers``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from harness.atomic import cannot_write, write_whole
from harness.errors import BadInput
from harness.limits import decode_utf8, json_value, read_bounded
from harness.op import NEMESIS, Op, OpType, Process
from harness.wellformed import BadOp, check_well_formed


@dataclass(frozen=True, slots=True)
class Pair:
    """An invocation and its completion (``None`` when the op was still open at the end of the history)."""

    invoke: Op
    complete: Op | None

    @property
    def type(self) -> str:
        """``ok`` / ``fail`` / ``info``; an op never completed counts as ``info`` (outcome unknown)."""
        return self.complete.type if self.complete is not None else "info"

    @property
    def value(self) -> Any:
        """The completion's value when it completed ``ok``, else the invocation's value."""
        if self.complete is not None and self.complete.type == "ok":
            return self.complete.value
        return self.invoke.value


_SET_INVOKE = Pair.__dict__["invoke"].__set__
_SET_COMPLETE = Pair.__dict__["complete"].__set__


def _make_pair(invoke: Op, complete: Op | None) -> Pair:
    """``Pair(invoke, complete)`` without the frozen dataclass's per-field ``object.__setattr__``."""
    p = object.__new__(Pair)
    _SET_INVOKE(p, invoke)
    _SET_COMPLETE(p, complete)
    return p


class History(Sequence[Op]):
    """An immutable sequence of ops in index order."""

    __slots__ = ("_ops", "_pairs")

    def __init__(self, ops: Iterable[Op] = ()) -> None:
        self._ops: tuple[Op, ...] = tuple(ops)
        self._pairs: tuple[Pair, ...] | None = None

    @overload
    def __getitem__(self, i: int) -> Op: ...
    @overload
    def __getitem__(self, i: slice) -> History: ...
    def __getitem__(self, i: int | slice) -> Op | History:
        if isinstance(i, slice):
            return History(self._ops[i])
        return self._ops[i]

    def __len__(self) -> int:
        return len(self._ops)

    def __iter__(self) -> Iterator[Op]:
        return iter(self._ops)

    def __repr__(self) -> str:
        return f"History({len(self._ops)} ops)"

    @property
    def ops(self) -> tuple[Op, ...]:
        return self._ops

    def client_ops(self) -> History:
        return History(op for op in self._ops if op.process != NEMESIS)

    def nemesis_ops(self) -> History:
        return History(op for op in self._ops if op.process == NEMESIS)

    def pairs(self) -> list[Pair]:
        """Pair each client invocation with the next completion of the same process, in invocation order.

        Nemesis ops and completions with no open invocation are skipped. Raises ``BadInput`` when a process
        invokes twice without completing (a history no honest recorder produces). The pairing is computed
        once per history (the history is immutable; ``chaos check`` pairs it for the evidence and again in the
        checker); each call returns a new list.
        """
        if self._pairs is None:
            self._pairs = self._pair()
        return list(self._pairs)

    def _pair(self) -> tuple[Pair, ...]:
        open_: dict[Process, int] = {}
        invokes: list[Op] = []
        completes: list[Op | None] = []
        for op in self._ops:
            if op.process == NEMESIS:
                continue
            if op.type == "invoke":
                if op.process in open_:
                    raise BadOp(
                        op.index,
                        f"process {op.process!r} invokes while its op "
                        f"{invokes[open_[op.process]].index} is still open",
                    )
                open_[op.process] = len(invokes)
                invokes.append(op)
                completes.append(None)
            else:
                slot = open_.pop(op.process, None)
                if slot is not None:
                    completes[slot] = op
        return tuple(map(_make_pair, invokes, completes))


def read_history_bytes(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
    """The whole file, read once (a pipe or ``/dev/stdin`` cannot be read twice), at most ``max_bytes``."""
    p = Path(path)
    if max_bytes is None:
        try:
            return p.read_bytes()
        except OSError as e:
            raise BadInput(f"{p}: cannot read history: {e.strerror or e}") from None
    return read_bounded(p, max_bytes, "history", "raise the limit with --max-history-mb")


def parse_jsonl(
    path: str | os.PathLike[str],
    *,
    tolerate_torn_tail: bool = True,
    max_bytes: int | None = None,
    data: bytes | None = None,
) -> tuple[list[Op], list[int]]:
    """The ops of a ``history.jsonl`` file and the line each came from (see ``read_jsonl``); ``data``: its
    bytes when already read (``path`` then only names it)."""
    p = Path(path)
    raw = read_history_bytes(p, max_bytes) if data is None else data
    lines = decode_utf8(raw, p, "expected one JSON object per line").splitlines()
    torn_possible = tolerate_torn_tail and not raw.endswith(b"\n")
    ops: list[Op] = []
    where: list[int] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            d = json_value(line)  # finite numbers, bounded integers and depth (harness.limits)
        except json.JSONDecodeError as e:
            # a crash mid-write leaves the last line cut short, with no newline, after whole ops
            if torn_possible and n == len(lines) and ops:
                break
            raise BadInput(f"{p}:{n}: not valid JSON ({e.msg}); expected one op object per line") from None
        except ValueError as e:  # NaN / Infinity / 1e400, an integer of more than 1000 digits, deep nesting
            raise BadInput(f"{p}:{n}: {e}") from None
        if not isinstance(d, dict):
            raise BadInput(f"{p}:{n}: expected a JSON object with index, time, process, type, f, value")
        try:
            ops.append(Op.from_dict(d))
        except ValueError as e:
            raise BadInput(f"{p}:{n}: {e}") from None
        where.append(n)
    check_well_formed(ops, where, str(p))
    return ops, where


def read_jsonl(
    path: str | os.PathLike[str], *, tolerate_torn_tail: bool = True, max_bytes: int | None = None
) -> History:
    """Read a ``history.jsonl`` file; a malformed line raises ``BadInput`` naming file and line.

    Only a torn last line (cut mid-write: no newline, after at least one whole op) is dropped, when
    ``tolerate_torn_tail`` is set; anything else that is not one op object per line is rejected, as are
    duplicate indexes and completions without an invocation (``harness.wellformed``). ``max_bytes`` bounds
    the file's size before it is read.
    """
    return History(parse_jsonl(path, tolerate_torn_tail=tolerate_torn_tail, max_bytes=max_bytes)[0])


def write_jsonl(history: Iterable[Op], path: str | os.PathLike[str]) -> None:
    """Write a whole history atomically (temp file, then rename)."""
    write_whole(
        path, "".join(json.dumps(op.to_dict(), separators=(",", ":"), default=str) + "\n" for op in history)
    )


class HistoryWriter:
    """Thread-safe recorder: assigns index and time, appends a flushed JSON line per op, keeps ops in memory.

    ``time`` is nanoseconds since the writer was created (``time.monotonic_ns``). Pass ``path=None`` to record
    in memory only (tests, simulations).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, clock: Any = time.monotonic_ns) -> None:
        self._lock = threading.Lock()
        self._ops: list[Op] = []
        self._clock = clock
        self._t0: int = clock()
        self._path = path
        try:
            self._fh = open(path, "a", encoding="utf-8") if path is not None else None  # noqa: SIM115
        except OSError as e:
            raise cannot_write(str(path), e) from None

    def now(self) -> int:
        return int(self._clock() - self._t0)

    def record(
        self,
        process: Process,
        type: OpType,
        f: str,
        value: Any = None,
        *,
        error: str | None = None,
        node: str | None = None,
    ) -> Op:
        with self._lock:
            op = Op(len(self._ops), self.now(), process, type, f, value, error, node)
            self._ops.append(op)  # kept in memory even when the file cannot take it
            if self._fh is not None:
                try:
                    self._fh.write(json.dumps(op.to_dict(), separators=(",", ":"), default=str) + "\n")
                    self._fh.flush()
                except OSError as e:  # the disk is full: one line naming the file, not "OSError"
                    raise cannot_write(str(self._path), e) from None
            return op

    def __len__(self) -> int:
        return len(self._ops)

    def history(self) -> History:
        with self._lock:
            return History(self._ops)

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                fh, self._fh = self._fh, None
                try:
                    fh.flush()
                    os.fsync(fh.fileno())
                except OSError as e:
                    raise cannot_write(str(self._path), e) from None
                finally:
                    try:
                        fh.close()
                    except OSError:
                        pass

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
