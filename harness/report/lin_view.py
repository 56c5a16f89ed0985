"""The linearizability counterexample, drawn in the spirit of Porcupine's visualiser.

For the failing key: its operations on a time axis, one lane per process, each labelled with what it did; the
operations of the longest partial linearization carry their position in that order, and the operations that
could not go next after it (``stuck_ops``) are marked, so a person sees which read could not be explained.
Below the drawing: every longest partial linearization as an ordered list, and the involved
operations as a table. ``view`` is the checker's report view (``harness.checkers.linearizable.CHECKER`` names
it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.checkers.linearizable import FailedPart, LinearizableDetails
from harness.history import Pair
from harness.report.data import ReportData
from harness.report.markup import esc, fmt_seconds, show, table, tag

MAX_DRAWN = 150
LANE = 30
LEFT = 70
WIDTH = 1200


def op_label(p: Pair) -> str:
    """A short text for an op of the kv model: ``write 3``, ``read -> 3``, ``cas 1->2``; generic otherwise."""
    v = p.invoke.value
    if isinstance(v, dict):
        if p.invoke.f == "read":
            got = p.value.get("value") if p.type == "ok" and isinstance(p.value, dict) else "?"
            return f"read -> {show(got, 24)}"
        if p.invoke.f == "write":
            return f"write {show(v.get('value'), 24)}"
        if p.invoke.f == "cas":
            return f"cas {show(v.get('from'), 12)}->{show(v.get('to'), 12)}"
    return f"{p.invoke.f} {show(v, 24)}"


def _chosen(ops: list[int], longest: list[int], stuck: list[int], by_index: Mapping[int, Pair]) -> list[int]:
    """All the part's ops when few; else the stuck ops, the longest prefix's end and ops overlapping them."""
    if len(ops) <= MAX_DRAWN:
        return [i for i in ops if i in by_index]
    core = [i for i in [*stuck, *longest[-40:]] if i in by_index]
    if not core:
        return [i for i in ops if i in by_index][-MAX_DRAWN:]
    lo = min(by_index[i].invoke.time for i in core)
    hi = max(_end(by_index[i], lo) for i in core)
    near = [i for i in ops if i in by_index and by_index[i].invoke.time <= hi and _end(by_index[i], hi) >= lo]
    keep = list(dict.fromkeys([*core, *near]))[:MAX_DRAWN]
    return sorted(keep, key=lambda i: by_index[i].invoke.time)


def _end(p: Pair, default: int) -> int:
    return p.complete.time if p.complete is not None else default


def view(d: LinearizableDetails, data: ReportData) -> str:
    """The failed key's drawing (nothing when no key failed)."""
    return "" if d.failed_part is None else render(d.failed_part, data.pairs)


def render(failed: FailedPart, pairs: list[Pair]) -> str:
    by_index = {p.invoke.index: p for p in pairs}
    ops = list(failed.ops)
    longest_all = [list(lin) for lin in failed.longest]
    longest = longest_all[0] if longest_all else []
    stuck = list(failed.stuck_ops)
    desc: Mapping[str, Any] = failed.describe
    shown = _chosen(ops or [*longest, *stuck], longest, stuck, by_index)
    out = [tag("h3", "Failing key: " + tag("code", esc(show(failed.key)), class_="failing-key"))]
    if len(shown) < len(ops):
        out.append(
            tag(
                "p",
                esc(
                    f"Showing the {len(shown)} of {len(ops)} operations on this key around where the "
                    "linearization got stuck; all are in the operations table."
                ),
                class_="note",
            )
        )
    out.append(_drawing(shown, longest, set(stuck), by_index))
    if stuck:
        items = "".join(
            tag(
                "li",
                esc(_named(i, by_index, desc)),
                class_="stuck-op",
                data_index=str(i),
            )
            for i in stuck
        )
        out.append(
            tag(
                "p",
                esc(
                    f"After the longest prefix (state {show(failed.final_state, 80)}), none of "
                    "these could be linearized next:"
                ),
            )
            + tag("ul", items, class_="stuck-list")
        )
    for n, lin in enumerate(longest_all, start=1):
        items = "".join(tag("li", esc(_named(i, by_index, desc)), data_index=str(i)) for i in lin)
        out.append(
            tag(
                "details",
                tag("summary", esc(f"Longest partial linearization {n} ({len(lin)} ops)"))
                + tag("ol", items, class_="linearization"),
                open="open" if n == 1 else None,
            )
        )
    pos = {i: k for k, i in enumerate(longest, start=1)}
    rows = []
    for i in shown:
        p = by_index[i]
        role = "stuck" if i in stuck else (f"linearized #{pos[i]}" if i in pos else "")
        rows.append(
            [
                esc(i),
                esc(f"p{p.invoke.process}"),
                esc(p.invoke.f),
                esc(show(p.invoke.value, 120)),
                esc(p.type),
                esc(show(p.value, 120) if p.type == "ok" else ""),
                esc(_span(p)),
                esc(role),
            ]
        )
    out.append(
        table(["op", "process", "f", "value", "type", "result", "interval", "role"], rows, class_="lin-ops")
    )
    return tag("section", "".join(out), class_="counterexample lin")


def _named(i: int, by_index: Mapping[int, Pair], desc: Mapping[str, Any]) -> str:
    """An op as listed under the drawing, with the model's own description when the checker gave one."""
    text = _describe(by_index[i]) if i in by_index else f"#{i}"
    return f"{text}: {desc[str(i)]}" if str(i) in desc else text


def _describe(p: Pair) -> str:
    return f"#{p.invoke.index} p{p.invoke.process} {op_label(p)} ({p.type}, {_span(p)})"


def _span(p: Pair) -> str:
    end = fmt_seconds(p.complete.time) if p.complete is not None else "never"
    return f"{fmt_seconds(p.invoke.time)} .. {end}"


def _drawing(shown: list[int], longest: list[int], stuck: set[int], by_index: Mapping[int, Pair]) -> str:
    if not shown:
        return tag("p", "The checker named no operations for this key.", class_="note")
    pairs = [by_index[i] for i in shown]
    t0 = min(p.invoke.time for p in pairs)
    t1 = max(_end(p, p.invoke.time) for p in pairs)
    t1 = max(t1, t0 + 1)
    t1 += (t1 - t0) // 20
    procs = sorted({p.invoke.process for p in pairs}, key=lambda pr: (isinstance(pr, str), str(pr).zfill(12)))
    lane = {pr: i for i, pr in enumerate(procs)}
    span = WIDTH - LEFT - 10

    def x(t: int) -> float:
        return LEFT + (t - t0) / (t1 - t0) * span

    pos = {i: k for k, i in enumerate(longest, start=1)}
    parts = [
        f'<text class="lane-label" x="4" y="{20 + lane[pr] * LANE + 14}">{esc(f"p{pr}")}</text>'
        for pr in procs
    ]
    for p in pairs:
        i = p.invoke.index
        y = 20 + lane[p.invoke.process] * LANE
        xa, xb = x(p.invoke.time), x(_end(p, t1))
        cls = "lin-op op-" + p.type + (" stuck" if i in stuck else "") + (" linearized" if i in pos else "")
        label = op_label(p)
        body = (
            f'<rect x="{xa:.1f}" y="{y + 2}" width="{max(xb - xa, 2):.1f}" height="{LANE - 8}"/>'
            f'<text class="op-text" x="{xa + 3:.1f}" y="{y + 16}">{esc(label)}</text>'
            f"<title>{esc(_describe(p))}</title>"
        )
        if i in pos:
            body += f'<text class="lin-step" x="{xa:.1f}" y="{y}">{pos[i]}</text>'
        if i in stuck:
            body += f'<text class="stuck-mark" x="{xb + 2:.1f}" y="{y + 16}">✗</text>'
        parts.append(tag("g", body, class_=cls, data_index=str(i)))
    height = 28 + len(procs) * LANE
    return tag("svg", "".join(parts), class_="chart lin-drawing", viewBox=f"0 0 {WIDTH} {height}", role="img")
