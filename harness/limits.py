"""Bounds on everything read from outside, checked before (or while) it is parsed, never after.

One table of documented limits (docs/experiments.md, docs/checkers.md) and the small guards that enforce them:
files are size-checked before they are read, names that become paths are checked before any directory is
made, nested values are depth-checked without recursion, floats must be finite. Every failure is a one-line
``BadInput`` naming the file (and line where there is one) and what would be valid.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import BadInput

MAX_EXPERIMENT_BYTES = 1 << 20  # 1 MiB: an experiment is a page of YAML
MAX_HISTORY_MB = 512  # default of ``chaos check --max-history-mb``
MAX_HISTORY_MB_CEILING = 65_536  # the largest ``--max-history-mb`` accepted: 64 GiB
MAX_MEMORY_MB = 1_048_576  # the largest ``--max-memory`` (one search part's memo): 1 TiB
MAX_YAML_DEPTH = 32  # mappings / lists nested in an experiment
MAX_YAML_NODES = 100_000  # nodes of an experiment once every alias is expanded (an alias bomb is refused)
MAX_VALUE_DEPTH = 100  # nesting of one op (JSON / EDN) in a history
MAX_INT_DIGITS = 1000  # digits of one integer in a history or an experiment
_INT_BOUND = 10**MAX_INT_DIGITS  # the smallest integer with more digits than that
MAX_SEED = 2**63 - 1  # seeds: 0 .. 2^63-1 (the experiment schema's bound; --seed; run.json on replay)
MAX_SECONDS = 86_400  # any duration or time in an experiment: one day
MAX_RANDOM_FAULTS = 10_000  # faults one random schedule may draw
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
NAME_RULE = "1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"


def read_bounded(path: str | os.PathLike[str], limit: int, what: str, raise_with: str = "") -> bytes:
    """The bytes of ``path`` if it holds at most ``limit`` bytes (checked before reading)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise BadInput(_too_big(p, size, limit, what, raise_with))
            chunks, got = [], 0
            while got <= limit:  # in chunks: read(limit) would allocate the whole limit up front
                chunk = fh.read(min(1 << 20, limit + 1 - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
            data = b"".join(chunks)
    except FileNotFoundError:
        raise BadInput(f"{p}: no such {what} file") from None
    except IsADirectoryError:
        raise BadInput(f"{p}: is a directory; pass a {what} file") from None
    except OSError as e:
        raise BadInput(f"{p}: cannot read: {e.strerror or e}") from None
    if len(data) > limit:
        raise BadInput(_too_big(p, len(data), limit, what, raise_with))
    return data


def _too_big(p: Path, size: int, limit: int, what: str, raise_with: str) -> str:
    hint = f"; {raise_with}" if raise_with else ""
    return f"{p}: {size} bytes is larger than a {what} file may be ({limit} bytes){hint}"


def decode_utf8(data: bytes, file: str | os.PathLike[str], expected: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise BadInput(f"{file}:{line}: not UTF-8 text; {expected}") from None


def check_name(name: object, what: str) -> str:
    """A name that becomes one directory (a bundle's): no separators, no '..', no leading dot."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise BadInput(f"{what} {name!r} cannot name a directory; use {NAME_RULE}")
    return name


def within(child: Path, parent: Path, what: str) -> Path:
    """``child`` if it resolves inside ``parent``; else bad input (a path that escapes ``--out``)."""
    c, p = child.resolve(), parent.resolve()
    if c != p and p not in c.parents:
        raise BadInput(f"{what} {child} lies outside {parent}; refusing to write there")
    return child


def walk(value: Any, max_depth: int) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every (path, leaf) of a nested value, iteratively; ``ValueError`` past ``max_depth`` levels."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, dict | list | tuple):
            if len(path) >= max_depth:
                raise ValueError(f"values nested more than {max_depth} levels deep")
            items = v.items() if isinstance(v, dict) else enumerate(v)
            stack.extend(((*path, k if isinstance(k, int | str) else str(k)), x) for k, x in items)
        else:
            yield path, v


def check_value(value: Any, max_depth: int = MAX_VALUE_DEPTH) -> None:
    """A value read from a history: bounded depth, finite floats, integers of at most ``MAX_INT_DIGITS``
    digits (exactly: 10^1000 - 1 passes, 10^1000 does not)."""
    for _, leaf in walk(value, max_depth):
        if isinstance(leaf, float) and not math.isfinite(leaf):
            raise ValueError(f"{leaf} is not a finite number")
        if isinstance(leaf, int) and leaf.bit_length() > 3300 and abs(leaf) >= _INT_BOUND:
            raise ValueError(f"an integer longer than {MAX_INT_DIGITS} digits")


def no_constant(name: str) -> Any:
    """``json.loads(..., parse_constant=no_constant)``: NaN, Infinity and -Infinity are not numbers here."""
    raise ValueError(f"{name} is not a finite number")


_LONG_DIGITS = re.compile(rf"\d{{{MAX_INT_DIGITS + 1}}}")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400
        raise ValueError(f"{text} is not a finite number (beyond +-1.8e308)")
    return number


# one decoder: ``json.loads`` with hooks builds one per call (a tenth of the time of a 200k-line history)
_DECODER = json.JSONDecoder(parse_constant=no_constant, parse_float=_finite_float)


def json_loads(text: str) -> Any:
    """``json.loads`` refusing NaN / Infinity and floats beyond the double range (``ValueError``, one line;
    ``json.JSONDecodeError`` for malformed text). Depth and integer length: see ``needs_walk``."""
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ValueError(f"nested more than {MAX_VALUE_DEPTH} levels deep") from None
    except ValueError as e:
        if isinstance(e, json.JSONDecodeError) or "finite" in str(e):
            raise
        raise ValueError(f"an integer longer than {MAX_INT_DIGITS} digits") from None  # Python's digit limit


def needs_walk(text: str) -> bool:
    """Whether the JSON ``text`` could break the depth or integer limits: more brackets than levels allowed,
    or a run of more digits than an integer may have. Neither (nearly every op): ``check_value`` would find
    nothing, and walking every value of a 200k-op history cost seconds."""
    return text.count("[") + text.count("{") > MAX_VALUE_DEPTH or _LONG_DIGITS.search(text) is not None


def json_value(text: str) -> Any:
    """JSON text -> value within the limits (finite numbers, bounded integers and depth); else ``ValueError``
    (``json.JSONDecodeError`` for malformed text) with a one-line message."""
    value = json_loads(text)
    if needs_walk(text):
        check_value(value)
    return value


def check_seed(seed: int, what: str) -> int:
    """A seed in 0 .. 2^63-1 (``MAX_SEED``), else ``BadInput`` naming ``what`` (``--seed``, a field)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        shown = str(seed) if len(str(seed)) <= 30 else str(seed)[:27] + "..."
        raise BadInput(f"{what} {shown}: a seed is an integer from 0 to 2^63-1 ({MAX_SEED})")
    return seed
