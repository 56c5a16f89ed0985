"""Small, escaping-by-default HTML and SVG helpers used by every report section.

Every value that came from a history, a log or a results file passes through ``esc`` (text and attributes) or
``script_json`` (data embedded for the page's script), so a value such as ``<script>alert(1)</script>``
shows as text. Section modules build strings with these helpers only; nothing else writes raw markup from
data. ``show``, the short text form of a value, is ``harness.op.show`` (checkers' plain words use it too).
"""

from __future__ import annotations

import html
import json
from typing import Any

from harness.op import show

__all__ = ["attrs", "esc", "fmt_seconds", "script_json", "show", "table", "tag", "text"]


def esc(value: Any) -> str:
    """Escape any value for HTML text or a double-quoted attribute (quotes included)."""
    return html.escape(value if isinstance(value, str) else show(value), quote=True)


def attrs(**kv: Any) -> str:
    """`` k="v"`` pairs, escaped; ``class_`` becomes ``class``, ``data_x`` is ``data-x``; None is dropped."""
    out = []
    for k, v in kv.items():
        if v is None:
            continue
        name = k.rstrip("_").replace("_", "-")
        out.append(f' {name}="{esc(v if isinstance(v, str) else show(v))}"')
    return "".join(out)


def tag(name: str, body: str = "", **kv: Any) -> str:
    """An element whose ``body`` is already-safe markup (build it with ``esc`` or other helpers)."""
    return f"<{name}{attrs(**kv)}>{body}</{name}>"


def text(name: str, value: Any, **kv: Any) -> str:
    """An element holding ``value`` as escaped text."""
    return tag(name, esc(value), **kv)


def table(headers: list[str], rows: list[list[str]], **kv: Any) -> str:
    """A table; ``rows`` cells are already-safe markup."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return tag("table", f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>", **kv)


def script_json(data: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` survives."""
    raw = json.dumps(data, separators=(",", ":"), default=str)
    return raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fmt_seconds(ns: float) -> str:
    s = ns / 1e9
    if abs(s) >= 100:
        return f"{s:.0f} s"
    if abs(s) >= 1:
        return f"{s:.2f} s"
    return f"{s * 1000:.1f} ms"
