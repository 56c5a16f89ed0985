"""The report's availability section: rates and latencies per window, recovery times, unavailability.

The figures come from the stored ``availability`` result when the experiment ran that checker (with its
thresholds and breaches); otherwise they are derived here from the bundle's history with the same pure
function (``harness.checkers.availability.analyse``), so every report shows them and only experiments that
give thresholds turn them into a verdict. ``page`` calls ``figures`` once and hands the data to ``section``,
``recovery_cell`` (the faults table) and ``markers`` (drawn on the op timeline).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.checkers.availability import AvailabilityDetails, analyse
from harness.report.data import FaultWindow, ReportData
from harness.report.markup import esc, table, tag

Figures = Mapping[str, Any]


def figures(data: ReportData) -> Figures | None:
    """The stored availability figures (of the result whose details are ``AvailabilityDetails``), else figures
    derived from the history (None: cannot be derived)."""
    for r in data.results.results.values() if data.results is not None else ():
        if isinstance(r.details, AvailabilityDetails) and r.details.has_figures:  # whatever its name
            return r.details.figures
    if data.history_error:
        return None
    try:
        return analyse(data.history, pairs=data.pairs)
    except Exception:  # noqa: BLE001 - a figure that cannot be derived must not break the report
        return None


def _fault_for(fig: Figures, w: FaultWindow) -> Mapping[str, Any] | None:
    return next((f for f in fig.get("faults") or [] if f.get("start_index") == w.start_index), None)


def recovery_text(fig: Figures | None, w: FaultWindow) -> str:
    """``1.52 s`` / ``not recovered`` / ``-`` (fault never ended) for one fault window."""
    f = _fault_for(fig, w) if fig is not None else None
    if f is None or f.get("end_s") is None:
        return "-"
    return "not recovered" if f.get("recovery_s") is None else f"{f['recovery_s']:g} s"


def recovery_cell(fig: Figures | None, w: FaultWindow) -> str:
    text = recovery_text(fig, w)
    cls = "recovery-none" if text == "not recovered" else "recovery"
    return tag("span", esc(text), class_=cls, data_start_index=str(w.start_index))


def markers(fig: Figures | None, x: Any, y0: float, y1: float) -> str:
    """A line at the moment each fault's system recovered (heal + recovery time), labelled; ``x(ns)``."""
    if not fig:
        return ""
    t0 = int(fig.get("t0") or 0)
    out = []
    for f in fig.get("faults") or []:
        if f.get("end_s") is None:
            continue
        rec = f.get("recovery_s")
        at = f["end_s"] + (rec or 0)
        xa = x(t0 + at * 1e9)
        label = f"recovered +{rec:g}s" if rec is not None else "not recovered"
        cls = "recovery-marker" if rec is not None else "recovery-marker none"
        out.append(
            f'<g class="{cls}" data-fault="{int(f["index"])}">'
            f'<line x1="{xa:.1f}" x2="{xa:.1f}" y1="{y0:.1f}" y2="{y1:.1f}"/>'
            f'<text x="{xa + 2:.1f}" y="{y1 - 2:.1f}">{esc(label)}</text>'
            f"<title>{esc(f.get('label', ''))}: {esc(label)}</title></g>"
        )
    return tag("g", "".join(out), class_="recovery-markers")


def _pct(v: Any) -> str:
    return "-" if v is None else f"{v * 100:.2f}%"


def _ms(v: Any) -> str:
    return "-" if v is None else f"{v:g} ms"


def _rows(label: str, per_f: Mapping[str, Any], extra: str = "") -> list[list[str]]:
    rows = []
    for f, st in per_f.items():
        rows.append(
            [
                esc(label if f == "*" else ""),
                esc("all" if f == "*" else f),
                esc(st.get("ops")),
                esc(st.get("ok")),
                esc(st.get("fail")),
                esc(st.get("info")),
                esc(_pct(st.get("ok_rate"))),
                esc(_ms(st.get("p50_ms"))),
                esc(_ms(st.get("p99_ms"))),
                extra if f == "*" else "",
            ]
        )
    return rows


def section(fig: Figures | None) -> str:
    """Per-window table (outside, each fault, after heal), then the unavailability windows."""
    if fig is None:
        return tag("p", "Availability figures cannot be derived from this history.", class_="note")
    rows = _rows("outside faults", fig["outside"])
    for f in fig.get("faults") or []:
        rec = (
            "-"
            if f.get("end_s") is None
            else ("not recovered" if f.get("recovery_s") is None else f"{f['recovery_s']:g} s")
        )
        rows += _rows(str(f.get("label")), f["stats"], esc(rec))
    if fig.get("after_heal") is not None:
        rows += _rows("after heal", fig["after_heal"])
    d = fig.get("definition") or {}
    note = tag(
        "p",
        esc(
            "Ops are placed in a window by their invocation time; ok rate = ok / completed (fail and info "
            "count "
            "against it); latency over ok completions. Recovery = time from the heal to the first ok that "
            f"starts a sustained run (every op completed in the next {d.get('sustain_s', 1)} s ok, at least "
            f"{d.get('sustain_ops', 3)} of them)."
        ),
        class_="note",
    )
    unavail = fig.get("unavailable") or []
    gaps = (
        table(
            ["from", "to", "duration", "during faults"],
            [
                [
                    esc(f"{u['start_s']:g} s"),
                    esc(f"{u['end_s']:g} s"),
                    esc(f"{u['duration_s']:g} s"),
                    esc(", ".join(f"#{i}" for i in u.get("faults") or []) or "none"),
                ]
                for u in unavail
            ],
            class_="unavailable",
        )
        if unavail
        else tag("p", esc(f"No unavailability window of {d.get('gap_s', 1)} s or more."), class_="note")
    )
    return (
        note
        + table(
            ["window", "f", "ops", "ok", "fail", "info", "ok rate", "p50", "p99", "recovery"],
            rows,
            class_="availability",
        )
        + tag("h3", "Unavailability windows")
        + gaps
    )
