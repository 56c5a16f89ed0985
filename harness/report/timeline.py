"""SVG charts over run time: the client-op timeline, throughput and latency, and per-node downs and pauses.

All three share one time axis and draw the fault windows as labelled bands across them. Up to
``DETAIL_LIMIT`` client operations are drawn one rectangle each (invoke to completion, coloured ok / fail /
info, with a tooltip); above it each lane is aggregated into time buckets, and the operations the checkers
named (``highlight``) are still drawn one by one on top, so those around a violation are never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from harness.faults.disk import DOWN_KINDS as DISK_DOWN_KINDS
from harness.faults.process import DOWN_KINDS as PROCESS_DOWN_KINDS
from harness.faults.process import PAUSE_KINDS
from harness.history import Pair
from harness.report.data import FaultWindow, ReportData
from harness.report.markup import attrs, esc, fmt_seconds, show, tag

DOWN_KINDS = PROCESS_DOWN_KINDS | DISK_DOWN_KINDS  # kinds whose nodes are down for the window

DETAIL_LIMIT = 3000
WIDTH = 1200
LEFT = 110
RIGHT = 12
LANE_H = 16
BUCKETS = 400
CHART_BUCKETS = 120


class Axis:
    """Maps history time (ns) to x in SVG units."""

    def __init__(self, t0: int, t1: int) -> None:
        self.t0, self.t1 = t0, max(t1, t0 + 1)
        self.span = WIDTH - LEFT - RIGHT

    def x(self, t: float) -> float:
        return LEFT + (t - self.t0) / (self.t1 - self.t0) * self.span

    def ticks(self, y0: float, y1: float, n: int = 8) -> str:
        out = []
        for i in range(n + 1):
            t = self.t0 + (self.t1 - self.t0) * i / n
            x = self.x(t)
            out.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{y0:.1f}" y2="{y1:.1f}"/>')
            out.append(
                f'<text class="tick-label" x="{x:.1f}" y="{y1 + 11:.1f}">{esc(fmt_seconds(t - self.t0))}'
                "</text>"
            )
        return "".join(out)


def bands(faults: list[FaultWindow], axis: Axis, y0: float, y1: float, labels: bool) -> str:
    """Fault windows as translucent bands between y0 and y1, each with its label and a tooltip."""
    out = []
    label_rows: list[float] = []
    for w in faults:
        xa = axis.x(w.start)
        xb = axis.x(w.end if w.end is not None else axis.t1)
        body = f'<rect x="{xa:.1f}" y="{y0:.1f}" width="{max(xb - xa, 1.5):.1f}" height="{y1 - y0:.1f}"/>'
        if labels:
            row = next((i for i, free in enumerate(label_rows) if free < xa), None)
            if row is None:
                row, label_rows = len(label_rows), [*label_rows, 0.0]
            label_rows[row] = xa + 7 * len(w.label) + 8
            body += (
                f'<text class="band-label" x="{xa + 2:.1f}" y="{y0 - 4 - 11 * row:.1f}">{esc(w.label)}</text>'
            )
        body += f"<title>{esc(w.detail())}</title>"
        out.append(
            tag(
                "g",
                body,
                class_=f"fault-band kind-{w.kind}",
                data_kind=w.kind,
                data_nodes=",".join(w.nodes),
                data_open="true" if w.end is None else None,
            )
        )
    return tag("g", "".join(out), class_="bands")


def band_label_space(faults: list[FaultWindow], axis: Axis) -> int:
    rows: list[float] = []
    for w in faults:
        xa = axis.x(w.start)
        row = next((i for i, free in enumerate(rows) if free < xa), None)
        if row is None:
            rows.append(0.0)
            row = len(rows) - 1
        rows[row] = xa + 7 * len(w.label) + 8
    return 14 + 11 * len(rows)


def _op_title(p: Pair) -> str:
    end = p.complete.time if p.complete is not None else None
    took = f", {fmt_seconds(end - p.invoke.time)}" if end is not None else ", never completed"
    err = f", error {p.complete.error}" if p.complete is not None and p.complete.error else ""
    node = f" @{p.complete.node}" if p.complete is not None and p.complete.node else ""
    return (
        f"#{p.invoke.index} p{p.invoke.process}{node} {p.invoke.f} {show(p.invoke.value, 200)} -> {p.type} "
        f"{show(p.value, 200) if p.type == 'ok' else ''}{took}{err}"
    )


def _op_rect(p: Pair, axis: Axis, y: float, extra: str = "") -> str:
    end = p.complete.time if p.complete is not None else axis.t1
    xa, xb = axis.x(p.invoke.time), axis.x(end)
    return (
        f'<rect class="op op-{p.type}{extra}" data-index="{p.invoke.index}" x="{xa:.1f}" y="{y + 2:.1f}" '
        f'width="{max(xb - xa, 1.0):.1f}" height="{LANE_H - 4}"><title>{esc(_op_title(p))}</title></rect>'
    )


def _aggregate(pairs: Iterable[Pair], data: ReportData, axis: Axis, top: float) -> str:
    counts: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    slot = {"ok": 0, "fail": 1, "info": 2}
    for p in pairs:
        b = min(BUCKETS - 1, int((p.invoke.time - axis.t0) / (axis.t1 - axis.t0) * BUCKETS))
        counts[(data.lanes[p.invoke.process], b)][slot[p.type]] += 1
    bw = axis.span / BUCKETS
    out = []
    for (lane, b), c in sorted(counts.items()):
        total = sum(c)
        y = top + lane * LANE_H + 2
        x = LEFT + b * bw
        for kind, n in zip(("ok", "fail", "info"), c, strict=True):
            if n:
                h = (LANE_H - 4) * n / total
                out.append(
                    f'<rect class="agg op-{kind}" x="{x:.1f}" y="{y:.1f}" width="{bw:.2f}" '
                    f'height="{h:.2f}"><title>{n} {kind}</title></rect>'
                )
                y += h
    return "".join(out)


def op_timeline(
    data: ReportData, highlight: set[int], overlay: Callable[[Axis, float, float], str] | None = None
) -> str:
    """The timeline of every client operation per lane, with fault bands across it; ``overlay(axis, y0, y1)``
    draws more on top (the recovery markers)."""
    axis = Axis(data.t0, data.t1)
    top = band_label_space(data.faults, axis)
    lanes = data.lane_count
    height = top + max(lanes, 1) * LANE_H
    procs: dict[int, list[str]] = defaultdict(list)
    for proc, lane in data.lanes.items():
        procs[lane].append(f"p{proc}")
    labels = "".join(
        f'<text class="lane-label" x="4" y="{top + i * LANE_H + 12:.1f}">{esc(" ".join(procs[i])[:16])}'
        f"<title>{esc(' '.join(procs[i]))}</title></text>"
        for i in range(lanes)
    )
    aggregated = len(data.pairs) > DETAIL_LIMIT
    if aggregated:
        ops = _aggregate(data.pairs, data, axis, top)
        ops += "".join(
            _op_rect(p, axis, top + data.lanes[p.invoke.process] * LANE_H, " named")
            for p in data.pairs
            if p.invoke.index in highlight
        )
    else:
        ops = "".join(
            _op_rect(
                p,
                axis,
                top + data.lanes[p.invoke.process] * LANE_H,
                " named" if p.invoke.index in highlight else "",
            )
            for p in data.pairs
        )
    svg = tag(
        "svg",
        axis.ticks(top - 2, height)
        + bands(data.faults, axis, top - 2, height, True)
        + labels
        + tag("g", ops, class_="ops")
        + (overlay(axis, top - 2, height) if overlay is not None else ""),
        class_="chart timeline",
        viewBox=f"0 0 {WIDTH} {height + 16}",
        role="img",
        data_mode="aggregated" if aggregated else "detailed",
    )
    note = ""
    if aggregated:
        note = tag(
            "p",
            esc(
                f"{len(data.pairs)} client operations, drawn as {BUCKETS} time buckets per lane (height = "
                f"share of ok / fail / info). The {len(highlight)} operations named by the checkers are "
                "drawn one by one; every "
                "operation is listed in the table below."
            ),
            class_="note",
        )
    return svg + note


def _quantile(xs: list[int], q: float) -> int:
    xs.sort()
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def rates(data: ReportData) -> str:
    """Throughput (completions per second by outcome) and latency (ok p50 / p99) over time, with bands."""
    axis = Axis(data.t0, data.t1)
    bucket_ns = (axis.t1 - axis.t0) / CHART_BUCKETS
    tput: dict[str, list[int]] = {k: [0] * CHART_BUCKETS for k in ("ok", "fail", "info")}
    lat: list[list[int]] = [[] for _ in range(CHART_BUCKETS)]
    for p in data.pairs:
        if p.complete is None:
            continue
        b = min(CHART_BUCKETS - 1, int((p.complete.time - axis.t0) / bucket_ns))
        tput[p.type][b] += 1
        if p.type == "ok":
            lat[b].append(p.complete.time - p.invoke.time)
    per_s = 1e9 / bucket_ns
    h = 120
    out = []
    peak = max((n for v in tput.values() for n in v), default=0) * per_s or 1
    series = {k: [n * per_s for n in v] for k, v in tput.items()}
    out.append(_chart("throughput", "completions / s", series, peak, axis, data.faults, h))
    p50 = [float(_quantile(b, 0.5)) / 1e6 if b else 0.0 for b in lat]
    p99 = [float(_quantile(b, 0.99)) / 1e6 if b else 0.0 for b in lat]
    out.append(
        _chart(
            "latency",
            "ok latency, ms",
            {"p50": p50, "p99": p99},
            max(p99, default=0) or 1,
            axis,
            data.faults,
            h,
        )
    )
    return "".join(out)


def _chart(
    name: str,
    unit: str,
    series: dict[str, list[float]],
    peak: float,
    axis: Axis,
    faults: list[FaultWindow],
    h: int,
) -> str:
    top = 8
    bw = axis.span / CHART_BUCKETS
    lines = []
    for key, ys in series.items():
        pts = " ".join(f"{LEFT + (i + 0.5) * bw:.1f},{top + h - y / peak * h:.1f}" for i, y in enumerate(ys))
        lines.append(f'<polyline class="series s-{key}" points="{pts}"><title>{esc(key)}</title></polyline>')
    legend = " ".join(f'<tspan class="s-{k}">■ {esc(k)}</tspan>' for k in series)
    body = (
        bands(faults, axis, top, top + h, False)
        + "".join(lines)
        + axis.ticks(top, top + h)
        + f'<text class="axis-label" x="4" y="{top + 10}">{esc(f"{peak:.4g}")}</text>'
        + f'<text class="axis-label" x="4" y="{top + h}">0</text>'
        + f'<text class="axis-label" x="4" y="{top + h / 2}">{esc(unit)}</text>'
        + f'<text class="legend" x="{LEFT + 4}" y="{top + 10}">{legend}</text>'
    )
    return tag("svg", body, class_=f"chart {name}", viewBox=f"0 0 {WIDTH} {top + h + 18}", role="img")


def node_lanes(data: ReportData) -> tuple[str, list[dict[str, object]]]:
    """Per node: its down (kill, restart) and paused windows on the shared time axis, their counts and the
    total time down or paused; the kinds are those of ``harness.faults.process``."""
    axis = Axis(data.t0, data.t1)
    nodes = data.nodes
    rows: list[dict[str, object]] = []
    parts = []
    for i, node in enumerate(nodes):
        y = 4 + i * LANE_H
        mine = [
            w for w in data.faults if node in w.nodes and (w.kind in DOWN_KINDS or w.kind in PAUSE_KINDS)
        ]
        down = sum((w.end if w.end is not None else axis.t1) - w.start for w in mine)
        rows.append(
            {
                "node": node,
                "downs": sum(w.kind in DOWN_KINDS for w in mine),
                "pauses": sum(w.kind in PAUSE_KINDS for w in mine),
                "down": down,
                "faults": sum(node in w.nodes for w in data.faults),
            }
        )
        parts.append(f'<text class="lane-label" x="4" y="{y + 12}">{esc(node)}</text>')
        for w in mine:
            xa, xb = axis.x(w.start), axis.x(w.end if w.end is not None else axis.t1)
            cls = "node-down" if w.kind in DOWN_KINDS else "node-pause"
            parts.append(
                f'<rect{attrs(class_=cls, data_node=node, data_kind=w.kind)} x="{xa:.1f}" '
                f'y="{y + 2}" width="{max(xb - xa, 1.5):.1f}" height="{LANE_H - 4}">'
                f"<title>{esc(w.detail())}</title></rect>"
            )
    height = 4 + max(len(nodes), 1) * LANE_H
    svg = tag(
        "svg",
        bands(data.faults, axis, 2, height, False) + "".join(parts) + axis.ticks(2, height),
        class_="chart nodes",
        viewBox=f"0 0 {WIDTH} {height + 16}",
        role="img",
    )
    return svg, rows
