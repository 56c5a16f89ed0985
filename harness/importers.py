"""Importers of foreign history formats into our ``History``: Jepsen/Knossos EDN and Porcupine's test logs.

Each importer reads a file and returns a ``History`` whose ops follow our vocabulary (harness/op.py):
keywords lose their colon, EDN vectors become lists, ``:nemesis`` becomes the process ``"nemesis"``.
Positions in the file become ``index`` (and ``time`` when the file has none). Anything unreadable raises
``BadInput`` naming the file, the line and what was expected; every reader bounds the file's size before
reading it (``max_bytes``), the nesting of values and the length of integers (``harness.limits``), and hands
its ops to ``harness.wellformed`` (duplicate indexes, completions without invocations).
Formats (see ../shared/corpus/FORMATS.md):

    jsonl            our own line-per-op JSON (harness.history.read_jsonl)
    jepsen-edn       a vector / list / sequence of op maps (:process :type :f :value; :time :index :error)
    porcupine-etcd   "INFO jepsen.util - P :type :f VALUE"; a ``:fail :cas`` is a completed cas that saw
                     another value (error "mismatch"); ``:fail :read :timed-out``, ``:info``: unknown outcome
    porcupine-kv     '{:process P, :type :invoke|:ok, :f :get|:put|:append, :key "K", :value nil|"S"}' lines
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from harness.checkers.models import MISMATCH
from harness.errors import BadInput
from harness.history import History, parse_jsonl, read_history_bytes
from harness.limits import MAX_INT_DIGITS, MAX_VALUE_DEPTH, check_value, decode_utf8
from harness.op import NEMESIS, OP_TYPES, Op
from harness.wellformed import check_well_formed, line_map

FORMATS = ("jsonl", "jepsen-edn", "porcupine-etcd", "porcupine-kv")


DETECT_BYTES = 65536  # format detection looks at the head of a file only


def _text_lines(path: Path, raw: bytes) -> list[str]:
    return decode_utf8(raw, path, "a history is a text file").splitlines()


def _head_lines(path: Path) -> list[str]:
    try:
        with path.open("rb") as fh:
            head = fh.read(DETECT_BYTES)
    except OSError as e:
        raise BadInput(f"{path}: cannot read history: {e.strerror or e}") from None
    return head.decode("utf-8", errors="replace").splitlines()


def detect_format(path: str | os.PathLike[str], data: bytes | None = None) -> str:
    """Guess a format from the extension, else from the first non-blank line (of ``data`` when given: the
    bytes already read, so that a pipe is not opened a second time)."""
    p = Path(path)
    if p.suffix == ".jsonl" or p.suffix == ".json":
        return "jsonl"
    if p.suffix == ".edn":
        return "jepsen-edn"
    head = (
        _head_lines(p)
        if data is None
        else data[:DETECT_BYTES].decode("utf-8", errors="replace").splitlines()
    )
    for line in head:
        s = line.strip()
        if not s:
            continue
        if s.startswith("INFO"):
            return "porcupine-etcd"
        if s.startswith("{:process") and ":key" in s:
            return "porcupine-kv"
        if s.startswith(("{", "[", "(", ";")) and not s.startswith('{"'):
            return "jepsen-edn"
        return "jsonl"
    return "jsonl"


def load_with_lines(
    path: str | os.PathLike[str],
    fmt: str = "auto",
    max_bytes: int | None = None,
    *,
    data: bytes | None = None,
) -> tuple[History, dict[int, int]]:
    """Read a history file in ``fmt`` (one of ``FORMATS`` or ``auto``); also op index -> line.

    ``data``: the file's bytes when the caller has read them already (``path`` then only names it): a pipe
    is read exactly once."""
    readers = {
        "jsonl": lambda p, raw: parse_jsonl(p, data=raw),
        "jepsen-edn": _parse_edn,
        "porcupine-etcd": _parse_porcupine_etcd,
        "porcupine-kv": _parse_porcupine_kv,
    }
    if fmt != "auto" and fmt not in readers:
        raise BadInput(f"unknown history format {fmt!r}; valid: auto, {', '.join(FORMATS)}")
    raw = read_history_bytes(path, max_bytes) if data is None else data
    if fmt == "auto":
        fmt = detect_format(path, raw)
    ops, lines = readers[fmt](Path(path), raw)
    if fmt != "jsonl":
        check_well_formed(ops, lines, str(path))
    return History(ops), line_map(ops, lines)


def load(path: str | os.PathLike[str], fmt: str = "auto", max_bytes: int | None = None) -> History:
    """Read a history file in ``fmt`` (one of ``FORMATS`` or ``auto``), at most ``max_bytes`` long."""
    return load_with_lines(path, fmt, max_bytes)[0]


# --- a small EDN reader: maps, vectors, lists, sets, strings, keywords (colon dropped), numbers,
# nil/true/false, symbols (as strings), ; comments, #_ discards, tagged literals (#inst "...",
# #jepsen.history.Op{...}: the tag is dropped, the form kept).
class EdnError(Exception):
    def __init__(self, line: int, msg: str) -> None:
        super().__init__(f"line {line}: {msg}")
        self.line = line
        self.msg = msg


_TOKEN = re.compile(
    r"""(?P<ws>[\s,]+|;[^\n]*)
      | (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<open>\#\{|[\[({])
      | (?P<close>[\])}])
      | (?P<discard>\#_)
      | (?P<tag>\#[A-Za-z][\w.\-/]*)
      | (?P<atom>[^\s,;"\[\](){}]+)""",
    re.VERBOSE | re.DOTALL,
)
_ESC = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_CLOSE = {"[": "]", "(": ")", "{": "}", "#{": "}"}


def _atom(tok: str, line: int) -> Any:
    if tok == "nil":
        return None
    if tok == "true":
        return True
    if tok == "false":
        return False
    if tok.startswith(":"):
        return tok[1:]
    if tok in ("##NaN", "##Inf", "##-Inf"):  # EDN's symbolic values: not numbers a checker can use
        raise EdnError(line, f"{tok} is not a finite number")
    if re.fullmatch(r"[+-]?\d+N?", tok):
        if len(tok.lstrip("+-").rstrip("N")) > MAX_INT_DIGITS:
            raise EdnError(line, f"an integer longer than {MAX_INT_DIGITS} digits")
        return int(tok.rstrip("N"))
    if len(tok) > MAX_INT_DIGITS + 2 and re.fullmatch(r"[+-]?[\d./eEMN+-]+", tok):
        raise EdnError(line, f"a number of more than {MAX_INT_DIGITS} digits")
    if re.fullmatch(r"[+-]?\d+/\d+", tok):
        a, b = tok.split("/")
        if int(b) == 0:
            raise EdnError(line, f"the ratio {tok} divides by zero")
        try:
            return int(a) / int(b)
        except OverflowError:
            raise EdnError(line, f"the ratio {tok} is too large for a number") from None
    if re.fullmatch(r"[+-]?(\d+\.\d*|\d*\.\d+|\d+)([eE][+-]?\d+)?M?", tok):
        number = float(tok.rstrip("M"))
        if not math.isfinite(number):  # 1e400
            raise EdnError(line, f"{tok} is not a finite number (beyond +-1.8e308)")
        return number
    if tok.startswith("\\"):
        return tok[1:]
    return tok


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((repr(k), _hashable(x)) for k, x in v.items()))
    return v


def parse_all(text: str) -> list[tuple[int, Any]]:
    """Every top-level form with the line it starts on."""
    return [(line, form) for line, form, _ in _parse_forms(text)]


def _parse_forms(text: str) -> list[tuple[int, Any, list[int]]]:
    """Every top-level form, the line it starts on, and the lines its items start on (a collection)."""
    tokens: list[tuple[str, str, int]] = []
    line = 1
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise EdnError(line, f"cannot read {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        tok = m.group()
        if kind != "ws":
            tokens.append((kind, tok, line))
        line += tok.count("\n")
        pos = m.end()
    out: list[tuple[int, Any, list[int]]] = []
    i = 0
    while i < len(tokens):
        start = tokens[i][2]
        starts: list[int] = []
        form, i, keep = _read(tokens, i, 0, starts)
        if keep:
            out.append((start, form, starts))
    return out


def _read(
    tokens: list[tuple[str, str, int]], i: int, depth: int = 0, starts: list[int] | None = None
) -> tuple[Any, int, bool]:
    kind, tok, line = tokens[i]
    if depth > MAX_VALUE_DEPTH + 2:  # + the history's collection and the op map
        raise EdnError(line, f"forms nested more than {MAX_VALUE_DEPTH} levels deep")
    if kind == "str":
        body = re.sub(r"\\(.)", lambda m: _ESC.get(m.group(1), m.group(1)), tok[1:-1])
        return body, i + 1, True
    if kind == "atom":
        return _atom(tok, line), i + 1, True
    if kind == "close":
        raise EdnError(line, f"unexpected {tok!r}")
    if kind in ("tag", "discard"):
        if i + 1 >= len(tokens):
            raise EdnError(line, f"{tok} at end of input")
        form, j, _ = _read(tokens, i + 1, depth + 1)
        return form, j, kind == "tag"
    items: list[Any] = []
    j = i + 1
    while True:
        if j >= len(tokens):
            raise EdnError(line, f"unclosed {tok!r} opened here")
        if tokens[j][0] == "close":
            if tokens[j][1] != _CLOSE[tok]:
                raise EdnError(tokens[j][2], f"expected {_CLOSE[tok]!r}, found {tokens[j][1]!r}")
            j += 1
            break
        line_j = tokens[j][2]
        form, j, keep = _read(tokens, j, depth + 1)
        if keep:
            items.append(form)
            if starts is not None:
                starts.append(line_j)
    if tok == "{":
        if len(items) % 2:
            raise EdnError(line, "a map needs an even number of forms")
        return {_hashable(items[k]): items[k + 1] for k in range(0, len(items), 2)}, j, True
    if tok == "#{":
        return list(dict.fromkeys(_hashable(x) for x in items)), j, True
    return items, j, True


_ETCD = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\d{1,18})\s+:(invoke|ok|fail|info)\s+:(\w+)\s+(.*?)\s*$")


def _etcd_value(text: str) -> Any:
    if text == "nil":
        return None
    if re.fullmatch(r"-?\d{1,100}", text):
        return int(text)
    m = re.fullmatch(r"\[\s*(-?\d{1,100})\s+(-?\d{1,100})\s*\]", text)
    if m:
        return [int(m.group(1)), int(m.group(2))]
    if text.startswith(":"):
        return text[1:]
    raise ValueError(f"value {text!r} is not nil, an integer, [A B] or a :keyword")


def read_porcupine_etcd(path: str | os.PathLike[str]) -> History:
    """Porcupine's etcd Jepsen logs (one register; values nil or small integers)."""
    ops, lines = _parse_porcupine_etcd(Path(path), read_history_bytes(path))
    check_well_formed(ops, lines, str(path))
    return History(ops)


def _parse_porcupine_etcd(p: Path, data: bytes) -> tuple[list[Op], list[int]]:
    ops: list[Op] = []
    where: list[int] = []
    open_value: dict[int, Any] = {}
    for n, line in enumerate(_text_lines(p, data), start=1):
        if not line.strip():
            continue
        m = _ETCD.match(line)
        if m is None:
            raise BadInput(f"{p}:{n}: expected 'INFO jepsen.util - PROCESS :TYPE :F VALUE'")
        proc, typ, f, raw = int(m.group(1)), m.group(2), m.group(3), m.group(4)
        try:
            value = _etcd_value(raw)
        except ValueError as e:
            raise BadInput(f"{p}:{n}: {e}") from None
        error = None
        if typ == "invoke":
            open_value[proc] = value
        elif isinstance(value, str):  # :timed-out and friends: unknown outcome
            typ, error, value = "info", value, open_value.get(proc)
        elif typ == "fail" and f == "cas":
            error = MISMATCH
        if typ != "invoke":
            open_value.pop(proc, None)
        ops.append(Op(len(ops), len(ops), proc, typ, f, value, error))  # type: ignore[arg-type]
        where.append(n)
    return ops, where


_KV = re.compile(
    r'^\{:process (\d{1,18}), :type :(invoke|ok|fail|info), :f :(\w+), '
    r':key "([^"]*)", :value (nil|"[^"]*")\}$'
)


def read_porcupine_kv(path: str | os.PathLike[str]) -> History:
    """Porcupine's kv logs: get / put / append per string key (initial value "")."""
    ops, lines = _parse_porcupine_kv(Path(path), read_history_bytes(path))
    check_well_formed(ops, lines, str(path))
    return History(ops)


def _parse_porcupine_kv(p: Path, data: bytes) -> tuple[list[Op], list[int]]:
    ops: list[Op] = []
    where: list[int] = []
    for n, line in enumerate(_text_lines(p, data), start=1):
        s = line.strip()
        if not s:
            continue
        m = _KV.match(s)
        if m is None:
            raise BadInput(f'{p}:{n}: expected {{:process P, :type :T, :f :F, :key "K", :value nil|"S"}}')
        raw = m.group(5)
        value = {"key": m.group(4), "value": None if raw == "nil" else raw[1:-1]}
        ops.append(Op(len(ops), len(ops), int(m.group(1)), m.group(2), m.group(3), value))  # type: ignore[arg-type]
        where.append(n)
    return ops, where


def read_edn(path: str | os.PathLike[str]) -> History:
    """A Jepsen / Knossos EDN history: one collection of op maps, or op maps one after another."""
    ops, lines = _parse_edn(Path(path), read_history_bytes(path))
    check_well_formed(ops, lines, str(path))
    return History(ops)


def _parse_edn(p: Path, data: bytes) -> tuple[list[Op], list[int]]:
    text = "\n".join(_text_lines(p, data))
    try:
        forms = _parse_forms(text)
    except EdnError as e:
        raise BadInput(f"{p}:{e.line}: {e.msg}") from None
    items: list[tuple[int, Any]] = []
    if len(forms) == 1 and isinstance(forms[0][1], list):
        _, coll, starts = forms[0]
        if len(starts) != len(coll):  # a set dropped duplicates: the collection's own line for each
            starts = [forms[0][0]] * len(coll)
        items = list(zip(starts, coll, strict=True))
    else:
        items = [(line, form) for line, form, _ in forms]
    ops: list[Op] = []
    where: list[int] = []
    for line, d in items:
        if not isinstance(d, dict):
            raise BadInput(f"{p}:{line}: expected an op map {{:process .. :type .. :f .. :value ..}}")
        try:
            check_value(d)
            ops.append(_edn_op(d, len(ops)))
        except ValueError as e:
            raise BadInput(f"{p}:{line}: {e}") from None
        where.append(line)
    return ops, where


def _edn_op(d: dict[str, Any], pos: int) -> Op:
    for k in ("process", "type", "f"):
        if k not in d:
            raise ValueError(f"op map lacks :{k}")
    proc = d["process"]
    if proc == "nemesis":
        proc = NEMESIS
    elif not isinstance(proc, int) or isinstance(proc, bool):
        raise ValueError(f":process is {proc!r}; expected an integer or :nemesis")
    typ = d["type"]
    if typ not in OP_TYPES:
        raise ValueError(f":type is {typ!r}; expected :invoke, :ok, :fail or :info")
    index = d.get("index", pos)
    time = d.get("time", index)
    if not isinstance(index, int) or not isinstance(time, int):
        raise ValueError(":index and :time must be integers")
    error = d.get("error")
    return Op(index, time, proc, typ, str(d["f"]), d.get("value"), None if error is None else str(error))
