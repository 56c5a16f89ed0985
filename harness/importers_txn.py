"""Importers of Elle's transactional history formats into our ``History`` (ops with ``f == "txn"``).

    elle-edn    Elle's EDN histories (github.com/jepsen-io/elle ``histories/``): op maps one after another
                or in one collection, e.g. ``{:index 0 :type :invoke :f :txn :value [[:append 1 2] [:r 1 nil]]
                :process 0}``. ``:f`` defaults to ``:txn``; an op with no ``:process`` gets a process of its
                own, and a completion with none completes the latest open invocation that had none.
    elle-json   the JSON form elle-cli reads: one op object per line, or one JSON array of them, with the
                same fields (``type`` / ``f`` may be written with a leading colon, as keywords).

Micro-ops keep their shape (``["append", k, v]``, ``["r", k, [..]]``, ``["w", k, v]``); keywords lose their
colon. The generic EDN reader is ``harness.importers.parse_all``. Anything unreadable raises ``BadInput``
naming the file, the line and what was expected.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.checkers.txn.txns import no_gc
from harness.errors import BadInput
from harness.history import History, read_history_bytes
from harness.importers import EdnError, parse_all
from harness.limits import check_value, decode_utf8, json_loads, json_value, needs_walk
from harness.op import NEMESIS, OP_TYPES, Op, make_op

FORMATS = ("elle-edn", "elle-json")


def _read_text(p: Path, data: bytes | None) -> str:
    return decode_utf8(read_history_bytes(p) if data is None else data, p, "a history is a text file")


def _kw(x: Any) -> Any:
    return x[1:] if isinstance(x, str) and x.startswith(":") else x


# one string object per name: the JSON decoder makes a new one for every occurrence of a value (100 bytes a
# micro-op in a large history)
_NAMES = {n: n for n in ("invoke", "ok", "fail", "info", "txn", "append", "r", "w")}


def _value(v: Any) -> Any:
    """A txn value with keyword micro-op names (``":append"``) as plain names, each name one shared string;
    other values untouched."""
    if isinstance(v, list) and v and isinstance(v[0], list) and v[0] and isinstance(v[0][0], str):
        names = _NAMES
        for m in v:
            if type(m) is list and m and type(f := m[0]) is str:
                if f[:1] == ":":
                    f = f[1:]
                m[0] = names.get(f, f)
    return v


class _Builder:
    """Turns op maps into ops, giving process-less ops synthetic processes that pair them up."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.lines: list[int] = []  # the line each op was read from (0: not known, a JSON array's item)
        self.open_anon: list[int] = []
        self.next_anon = 10**9

    def add(self, d: dict[str, Any], line: int = 0) -> None:
        # numbers (finite, at most 1000 digits) and nesting were bounded by the reader: the EDN tokenizer, or
        # harness.limits.json_loads / needs_walk for JSON
        typ = d.get("type")
        if type(typ) is not str:
            raise ValueError(f"type is {typ!r}; expected invoke, ok, fail or info")
        typ = _NAMES.get(typ, typ)
        if typ not in OP_TYPES:
            typ = _kw(typ)
            if typ not in OP_TYPES:
                raise ValueError(f"type is {d.get('type')!r}; expected invoke, ok, fail or info")
        f = d.get("f", "txn")
        if f == "txn":
            f = "txn"  # the one shared string
        else:
            f = _kw(f)
            if not isinstance(f, str):
                raise ValueError(f"f is {f!r}; expected a keyword or string such as txn")
        proc = d.get("process")
        if type(proc) is int:
            pass
        elif (proc := _kw(proc)) is None:
            if typ == "invoke":
                proc = self.next_anon
                self.next_anon += 1
                self.open_anon.append(proc)
            elif self.open_anon:
                proc = self.open_anon.pop()
            else:
                raise ValueError(f"a {typ} op with no process and no open invocation to complete")
        elif proc == "nemesis":
            proc = NEMESIS
        elif not isinstance(proc, int) or isinstance(proc, bool):
            raise ValueError(f"process is {proc!r}; expected an integer or nemesis")
        pos = len(self.ops)
        index = d.get("index", pos)
        time = d.get("time", index)
        if not isinstance(index, int) or not isinstance(time, int):
            raise ValueError("index and time must be integers")
        err = d.get("error")
        self.ops.append(
            make_op(index, time, proc, typ, f, _value(d.get("value")), None if err is None else str(err))
        )
        self.lines.append(line)

    def read(self) -> tuple[History, dict[int, int]]:
        """The history, and op index -> line for the ops whose line is known."""
        return History(self.ops), {op.index: n for op, n in zip(self.ops, self.lines, strict=True) if n}


def read_elle_edn(path: str | os.PathLike[str], data: bytes | None = None) -> History:
    """An Elle EDN history (``data``: its bytes when already read; ``path`` then only names it)."""
    return _read_elle_edn(path, data).read()[0]


def _read_elle_edn(path: str | os.PathLike[str], data: bytes | None) -> _Builder:
    p = Path(path)
    try:
        forms = parse_all(_read_text(p, data))
    except EdnError as e:
        raise BadInput(f"{p}:{e.line}: {e.msg}") from None
    items = (
        [(forms[0][0], x) for x in forms[0][1]]
        if len(forms) == 1 and isinstance(forms[0][1], list)
        else forms
    )
    b = _Builder()
    for line, d in items:
        if not isinstance(d, dict):
            raise BadInput(
                f"{p}:{line}: expected an op map {{:type :invoke :f :txn :value [[:append k v] ..]}}"
            )
        try:
            b.add(d, line)
        except ValueError as e:
            raise BadInput(f"{p}:{line}: {e}") from None
    return b


def _json_line(p: Path, n: int, line: str) -> Any:
    try:
        return json_value(line)
    except json.JSONDecodeError as e:
        raise BadInput(f"{p}:{n}: not valid JSON ({e.msg}); expected one op object per line") from None
    except ValueError as e:  # NaN, 1e400, an integer of more than 1000 digits, deep nesting
        raise BadInput(f"{p}:{n}: {e}") from None


def read_elle_json(path: str | os.PathLike[str], data: bytes | None = None) -> History:
    """An elle-cli JSON history (``data``: its bytes when already read; ``path`` then only names it)."""
    return _read_elle_json(path, data).read()[0]


def _read_elle_json(path: str | os.PathLike[str], data: bytes | None) -> _Builder:
    p = Path(path)
    text = _read_text(p, data)
    b = _Builder()
    if text.lstrip().startswith("["):
        try:
            arr = json_value(text)
        except json.JSONDecodeError as e:
            raise BadInput(f"{p}:{e.lineno}: not valid JSON ({e.msg})") from None
        except ValueError as e:  # NaN, 1e400, an integer of more than 1000 digits, deep nesting
            raise BadInput(f"{p}: {e}") from None
        for n, d in enumerate(arr, start=1):
            _add(p, b, "item", n, d)
    else:  # one op object per line, parsed in batches (only one batch of dicts alive at once)
        for batch in _line_batches(text):
            for n, d in _parse_batch(p, batch):
                _add(p, b, "line", n, d)
    return b


LINES_PER_BATCH = 4096  # parsed together: one C-level parse per batch; only a batch of dicts alive at once


def _line_batches(text: str) -> Iterable[list[tuple[int, str]]]:
    """The non-empty lines of ``text`` with their numbers, ``LINES_PER_BATCH`` at a time."""
    batch: list[tuple[int, str]] = []
    for n, line in enumerate(io.StringIO(text), start=1):  # lazily: no list of every line
        if line.strip():
            batch.append((n, line))
            if len(batch) == LINES_PER_BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _parse_batch(p: Path, batch: list[tuple[int, str]]) -> list[tuple[int, Any]]:
    """One C-level parse of the batch (numbers and nesting bounded); on an error, line by line to name it."""
    try:
        parsed = json_loads("[" + ",".join(line for _, line in batch) + "]")
        for (_, line), d in zip(batch, parsed, strict=False):  # the rare line with deep or long values
            if needs_walk(line):
                check_value(d)
    except (ValueError, RecursionError):  # malformed, NaN, 1e400, too deep or too long: say which line
        parsed = None
    if not isinstance(parsed, list) or len(parsed) != len(batch):
        # invalid, or lines that are not whole values joined into valid JSON (a line '{"' and the next)
        parsed = [_json_line(p, n, line) for n, line in batch]
    return [(n, d) for (n, _), d in zip(batch, parsed, strict=True)]


def _add(p: Path, b: _Builder, where: str, n: int, d: Any) -> None:
    if not isinstance(d, dict):
        raise BadInput(f"{p}: {where} {n}: expected an op object with type, f, process, value")
    try:
        b.add(d, n if where == "line" else 0)
    except ValueError as e:
        raise BadInput(f"{p}: {where} {n}: {e}") from None


def load(path: str | os.PathLike[str], fmt: str, data: bytes | None = None) -> History:
    """A transactional history in ``fmt``; ``data``: the file's bytes when the caller read them already."""
    return load_with_lines(path, fmt, data)[0]


def load_with_lines(
    path: str | os.PathLike[str], fmt: str, data: bytes | None = None
) -> tuple[History, dict[int, int]]:
    """``load``, and op index -> the line it was read from (ops of a JSON array have none)."""
    if data is not None:
        size = len(data) // 100
    else:
        try:
            size = os.path.getsize(path) // 100  # about one op per 100 bytes or more: an upper bound
        except OSError:
            size = 0
    with no_gc(size):
        if fmt == "elle-edn":
            return _read_elle_edn(path, data).read()
        if fmt == "elle-json":
            return _read_elle_json(path, data).read()
    raise BadInput(f"unknown transactional history format {fmt!r}; valid: {', '.join(FORMATS)}")
