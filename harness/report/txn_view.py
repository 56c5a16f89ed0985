"""The transactional checkers' anomalies (list-append, rw-register), drawn from their stored details.

For a failed ``list-append`` / ``rw-register`` result: the model checked and the models the history rules
out, a table of the anomalies found (type, what it means, the models it rules out, the witness in one line),
and for each cycle anomaly its witness drawn as the cycle itself: transactions as boxes around a ring, each
dependency an arrow labelled with its kind (ww, wr, rw, process, realtime), and below it every edge's reason
in words. A non-cycle anomaly lists the transactions it names with their micro-ops. Everything is read from
the result's ``details`` (harness/checkers/txn/anomaly.py writes them); nothing is re-checked here.
``view`` is the two checkers' report view (their declarations in ``harness.checkers.txn.check`` name it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness.checkers.txn.check import TxnDetails
from harness.report.data import ReportData
from harness.report.markup import esc, show, table, tag

BOX_W, BOX_H = 170, 46
MAX_DRAWN = 12
KIND_CLASS = {"ww": "ww", "wr": "wr", "rw": "rw", "process": "order", "realtime": "order"}


def _mops_text(ops: Any, limit: int = 60) -> str:
    if not isinstance(ops, list):
        return show(ops, limit)
    parts = []
    for m in ops:
        if isinstance(m, list) and len(m) == 3:
            parts.append(f"{m[0]} {show(m[1], 12)} {show(m[2], 30)}")
        else:
            parts.append(show(m, 20))
    return show("; ".join(parts), limit)


def cycle_svg(anomaly: Mapping[str, Any], n: int) -> str:
    """The cycle as an SVG ring: one box per transaction, one labelled arrow per edge."""
    steps = [s for s in anomaly.get("cycle") or [] if isinstance(s, Mapping)][:MAX_DRAWN]
    txns = {t.get("name"): t for t in anomaly.get("txns") or [] if isinstance(t, Mapping)}
    names = list(dict.fromkeys(str(s.get("from")) for s in steps))
    k = max(len(names), 1)
    r = 0 if k == 1 else max(110, int(k * (BOX_W + 40) / (2 * math.pi)))
    w, h = 2 * r + BOX_W + 80, 2 * r + BOX_H + 80
    cx, cy = w / 2, h / 2
    pos = {
        name: (
            cx + r * math.cos(2 * math.pi * i / k - math.pi / 2),
            cy + r * math.sin(2 * math.pi * i / k - math.pi / 2),
        )
        for i, name in enumerate(names)
    }
    marker = f"txn-arrow-{n}"
    out = [
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>'
    ]
    for s in steps:
        a, b = pos.get(str(s.get("from"))), pos.get(str(s.get("to")))
        if a is None or b is None:
            continue
        (x1, y1), (x2, y2) = _clip(a, b), _clip(b, a)
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1.0
        bend = 0.25 * length
        qx, qy = mx + bend * dy / length, my - bend * dx / length
        kind = str(s.get("kind", ""))
        lx, ly = (mx + qx) / 2, (my + qy) / 2
        out.append(
            tag(
                "g",
                tag("title", esc(s.get("why", "")))
                + f'<path d="M{x1:.1f},{y1:.1f} Q{qx:.1f},{qy:.1f} {x2:.1f},{y2:.1f}" fill="none" '
                f'marker-end="url(#{marker})"/>'
                + tag("text", esc(kind), x=f"{lx:.1f}", y=f"{ly:.1f}", text_anchor="middle"),
                class_=f"edge edge-{KIND_CLASS.get(kind, 'order')}",
                data_kind=kind,
            )
        )
    for name, (x, y) in pos.items():
        t = txns.get(name, {})
        out.append(
            tag(
                "g",
                tag(
                    "title",
                    esc(
                        f"{name} ({t.get('type', '?')}, process {t.get('process', '?')}): "
                        f"{_mops_text(t.get('ops'), 400)}"
                    ),
                )
                + tag(
                    "rect",
                    x=f"{x - BOX_W / 2:.1f}",
                    y=f"{y - BOX_H / 2:.1f}",
                    width=BOX_W,
                    height=BOX_H,
                    rx=6,
                )
                + tag(
                    "text",
                    esc(f"{name} · p{t.get('process', '?')}"),
                    x=f"{x:.1f}",
                    y=f"{y - 6:.1f}",
                    text_anchor="middle",
                    class_="name",
                )
                + tag(
                    "text",
                    esc(_mops_text(t.get("ops"), 28)),
                    x=f"{x:.1f}",
                    y=f"{y + 12:.1f}",
                    text_anchor="middle",
                    class_="ops",
                ),
                class_="txn",
                data_txn=name,
                data_index=t.get("index"),
            )
        )
    return tag(
        "svg",
        "".join(out),
        class_="txn-cycle",
        viewBox=f"0 0 {w:.0f} {h:.0f}",
        width=f"{w:.0f}",
        height=f"{h:.0f}",
        role="img",
        aria_label=f"{anomaly.get('type')} cycle",
    )


def _clip(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """Where the line from box centre ``a`` towards ``b`` leaves box ``a``."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    if dx == 0 and dy == 0:
        return a
    sx = (BOX_W / 2 + 4) / abs(dx) if dx else math.inf
    sy = (BOX_H / 2 + 4) / abs(dy) if dy else math.inf
    s = min(sx, sy)
    return a[0] + dx * s, a[1] + dy * s


def view(d: TxnDetails, data: ReportData) -> str:
    """The anomalies of a failed list-append / rw-register result."""
    return render(d)


def render(d: TxnDetails) -> str:
    anomalies = list(d.anomalies)
    model = d.consistency_model
    ruled = ", ".join(d.ruled_out_models) or "none"
    out = [
        tag(
            "p",
            esc(
                f"Checked as {model}: {d.txns if d.txns is not None else '?'} transactions, "
                f"{len(anomalies)} anomaly types. "
                f"The history rules out: {ruled}."
            ),
            class_="note",
        )
    ]
    rows = [
        [
            esc(a.get("type")),
            esc(a.get("description", "")),
            esc(", ".join(a.get("ruled_out") or [])),
            esc(a.get("text", "")),
        ]
        for a in anomalies
    ]
    out.append(table(["anomaly", "meaning", "rules out", "witness"], rows, class_="txn-anomalies"))
    for n, a in enumerate(anomalies):
        body = [tag("h3", esc(f"{a.get('type')}: {a.get('text', '')}"))]
        if a.get("cycle"):
            body.append(cycle_svg(a, n))
            body.append(
                tag(
                    "ol",
                    "".join(
                        tag("li", esc(f"{s.get('from')} → {s.get('to')} ({s.get('kind')}): {s.get('why')}"))
                        for s in a["cycle"]
                        if isinstance(s, Mapping)
                    ),
                    class_="txn-steps",
                )
            )
        txn_rows = [
            [
                esc(t.get("name")),
                esc(t.get("process")),
                esc(t.get("type")),
                esc(_mops_text(t.get("ops"), 300)),
            ]
            for t in a.get("txns") or []
            if isinstance(t, Mapping)
        ]
        body.append(table(["txn", "process", "type", "micro-ops"], txn_rows, class_="txn-list"))
        out.append(tag("div", "".join(body), class_="txn-anomaly", data_type=a.get("type")))
    return tag("section", "".join(out), class_="counterexample txn")


def table_text(value: Any, limit: int = 6) -> str:
    """A transaction's micro-ops as the operations table shows them: ``append 3 7; r 3 [… 5 6 7] (12)``.

    Reads longer than ``limit`` elements keep their last elements and their length, so a 100k-transaction
    report stays within the report's size budget; the full values are in the history file.
    """
    if not isinstance(value, list):
        return show(value, 200)
    parts = []
    for m in value:
        if isinstance(m, list) and len(m) == 3:
            v = m[2]
            if isinstance(v, list) and len(v) > limit:
                shown = "[… " + " ".join(show(x, 12) for x in v[-limit:]) + f"] ({len(v)})"
            elif isinstance(v, list):
                shown = "[" + " ".join(show(x, 12) for x in v) + "]"
            else:
                shown = show(v, 24)
            parts.append(f"{m[0]} {show(m[1], 16)} {shown}")
        else:
            parts.append(show(m, 24))
    return "; ".join(parts)
