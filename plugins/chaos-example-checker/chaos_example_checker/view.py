"""The ``counter`` checker's report view: each read outside its bounds, drawn against the range it allowed.

Named by the checker's declaration (``view="chaos_example_checker.view:render"``) and imported by the report
only when it draws a violated ``counter`` result; the checker itself never imports this module. It receives
the result's typed details and the report's data (``harness.report.data.ReportData``: the run, the history,
its paired ops, ...) and builds its HTML with ``harness.report.markup``, which escapes every value.
"""

from __future__ import annotations

from typing import Any

from harness.report.data import ReportData
from harness.report.markup import esc, fmt_seconds, table, tag

from .counter import CounterDetails

DRAWN = 40  # reads drawn in the chart (all are listed in the table)
WIDTH, LEFT, ROW = 900, 90, 22


def render(details: CounterDetails, data: ReportData) -> str:
    """A chart (one row per bad read: its allowed range as a bar, what it saw as a dot) and a table."""
    errors = list(details.errors)
    if not errors:
        return ""
    started = {p.invoke.index: p.invoke.time for p in data.pairs}
    top = max(max(int(e.get("upper", 0)), int(e.get("value", 0))) for e in errors) or 1

    def x(v: Any) -> float:
        return LEFT + float(v) * (WIDTH - LEFT - 20) / top

    rows = []
    for n, e in enumerate(errors[:DRAWN]):
        y = 10 + n * ROW
        rows.append(
            tag("text", esc(f"#{e.get('index')}"), x="4", y=str(y + 12), class_="label")
            + tag("rect", "", x=f"{x(e.get('lower', 0)):.1f}", y=str(y + 4),
                  width=f"{max(2.0, x(e.get('upper', 0)) - x(e.get('lower', 0))):.1f}", height="10",
                  class_="counter-range")
            + tag("circle", "", cx=f"{x(e.get('value', 0)):.1f}", cy=str(y + 9), r="5", class_="counter-read")
        )  # fmt: skip
    height = 20 + len(rows) * ROW
    chart = tag("svg", "".join(rows), viewBox=f"0 0 {WIDTH} {height}", class_="chart counter", role="img")
    listed = table(
        ["read op", "process", "started", "saw", "possible"],
        [
            [
                esc(f"#{e.get('index')}"),
                esc(e.get("process")),
                esc(fmt_seconds(started.get(e["index"], data.t0) - data.t0)),
                esc(e.get("value")),
                esc(f"{e.get('lower')} .. {e.get('upper')}"),
            ]
            for e in errors
        ],
        class_="counter-errors",
    )
    note = tag("p", esc("Bar: the counts the adds allowed for that read; dot: what it saw."), class_="note")
    return tag("section", chart + note + listed, class_="counterexample counter")
