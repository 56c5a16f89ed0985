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

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.checkers.txn.txns import no_gc
from harness.errors import BadInput
from harness.history import History
from harness.importers import EdnError, parse_all
from harness.op import NEMESIS, OP_TYPES, Op, make_op

FORMATS = ("elle-edn", "elle-json")


def _read_text(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except OSError as e:
        raise BadInput(f"{p}: cannot read history: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{p}: not a UTF-8 text file") from None


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
        self.open_anon: list[int] = []
        self.next_anon = 10**9

    def add(self, d: dict[str, Any]) -> None:
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


def read_elle_edn(path: str | os.PathLike[str]) -> History:
    p = Path(path)
    try:
        forms = parse_all(_read_text(p))
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
            b.add(d)
        except ValueError as e:
            raise BadInput(f"{p}:{line}: {e}") from None
    return History(b.ops)


def _json_line(p: Path, n: int, line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        raise BadInput(f"{p}:{n}: not valid JSON ({e.msg}); expected one op object per line") from None


def read_elle_json(path: str | os.PathLike[str]) -> History:
    p = Path(path)
    b = _Builder()
    try:
        with p.open(encoding="utf-8") as fh:
            head = fh.read(4096)
            if head.lstrip().startswith("["):
                _read_json_array(p, head + fh.read(), b)
            else:
                fh.seek(0)
                _read_json_lines(p, fh, b)
    except OSError as e:
        raise BadInput(f"{p}: cannot read history: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{p}: not a UTF-8 text file") from None
    return History(b.ops)


def _read_json_array(p: Path, text: str, b: _Builder) -> None:
    try:
        arr = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"{p}:{e.lineno}: not valid JSON ({e.msg})") from None
    for n, d in enumerate(arr, start=1):
        _add(p, b, "item", n, d)


LINES_PER_BATCH = 4096  # parsed together: one C-level parse per batch; only a batch of dicts alive at once


def _read_json_lines(p: Path, fh: Iterable[str], b: _Builder) -> None:
    """One op object per line, read in batches: the dicts of a batch become ops before the next is parsed, so
    the peak memory holds the ops and one batch, not every line, every dict and the ops at once."""
    batch: list[tuple[int, str]] = []
    for n, line in enumerate(fh, start=1):
        if line.strip():
            batch.append((n, line))
            if len(batch) == LINES_PER_BATCH:
                _add_batch(p, batch, b)
                batch = []
    _add_batch(p, batch, b)


def _add_batch(p: Path, batch: list[tuple[int, str]], b: _Builder) -> None:
    if not batch:
        return
    try:  # one C-level parse of the batch; on an error, parse line by line to name the bad one
        parsed = json.loads("[" + ",".join(line for _, line in batch) + "]")
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, list) or len(parsed) != len(batch):
        # invalid, or lines that are not whole values joined into valid JSON (a line '{"' and the next)
        parsed = [_json_line(p, n, line) for n, line in batch]
    for (n, _), d in zip(batch, parsed, strict=True):
        _add(p, b, "line", n, d)


def _add(p: Path, b: _Builder, where: str, n: int, d: Any) -> None:
    if not isinstance(d, dict):
        raise BadInput(f"{p}: {where} {n}: expected an op object with type, f, process, value")
    try:
        b.add(d)
    except ValueError as e:
        raise BadInput(f"{p}: {where} {n}: {e}") from None


def load(path: str | os.PathLike[str], fmt: str) -> History:
    try:
        size = os.path.getsize(path) // 100  # about one op per 100 bytes or more: an upper bound
    except OSError:
        size = 0
    with no_gc(size):
        if fmt == "elle-edn":
            return read_elle_edn(path)
        if fmt == "elle-json":
            return read_elle_json(path)
    raise BadInput(f"unknown transactional history format {fmt!r}; valid: {', '.join(FORMATS)}")
