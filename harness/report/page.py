"""Assembles ``report.html``: one self-contained page (inline CSS, JS, SVG; no network) from ``ReportData``.

Order of the page: what ran (experiment, seed, target, mode, replay command) and its outcome; a verdict banner
per invariant; the counterexample of each violated invariant (drawn by the view its checker declares,
``harness.checkers.contract``; a view that fails leaves a note, not a broken page); the op timeline with
fault bands; throughput and latency; per node downs and pauses; the fault list; every operation (a
virtualised table fed by embedded JSON); node logs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib import resources
from typing import Any

from harness.checkers.contract import Checker, Checkers
from harness.record import RunRecord
from harness.report import availability_view, evidence_view, timeline, txn_view, verdicts
from harness.report.data import ReportData
from harness.report.markup import esc, fmt_seconds, script_json, show, table, tag

LOG_TAIL = 400


def _asset(name: str) -> str:
    return resources.files("harness.report").joinpath(name).read_text(encoding="utf-8")


def _facts(run: RunRecord) -> str:
    rows = []
    for label, key in (
        ("experiment", "experiment"),
        ("seed", "seed"),
        ("target", "target"),
        ("nodes", "nodes"),
        ("planted bugs (flags)", "flags"),
        ("mode (backend)", "backend"),
        ("expect", "expect"),
        ("status", "status"),
        ("started", "started"),
        ("finished", "finished"),
        ("workload", "workload"),
    ):
        v = getattr(run, key)
        if v is None or v == ():
            v = "none" if key == "flags" else "-"
        rows.append([esc(label), esc(", ".join(map(str, v)) if isinstance(v, tuple) else show(v, 400))])
    replay = run.replay
    rows.append([esc("replay"), tag("code", esc(replay), class_="replay") if replay else esc("-")])
    return table(["", ""], rows, class_="facts")


OUTCOME_TEXT = {
    "pass": "PASS: the outcome matched what the experiment expected",
    "fail": "FAIL: the outcome did not match what the experiment expected",
    "unknown": "UNKNOWN: an invariant could not be decided, or the history proves too little",
    "crashed": "CRASHED: a worker or the nemesis failed; the history was not checked",
    "none": "NO VERDICT: the run has no checker results",
}


def _op_rows(data: ReportData) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for p in data.pairs:
        c = p.complete
        rows.append(
            [
                p.invoke.index,
                p.invoke.process,
                p.invoke.f,
                p.type,
                round((p.invoke.time - data.t0) / 1e6, 3),
                None if c is None else round((c.time - data.t0) / 1e6, 3),
                p.invoke.value,
                c.value if c is not None and c.type == "ok" and c.value != p.invoke.value else None,
                c.error if c is not None else None,
                c.node if c is not None else None,  # the node that served it, when the client said
            ]
        )
    for op in data.history.nemesis_ops():
        rows.append(
            [
                op.index,
                op.process,
                op.f,
                op.type,
                round((op.time - data.t0) / 1e6, 3),
                None,
                op.value,
                None,
                op.error,
                None,
            ]
        )
    for row in rows:
        if row[2] == "txn":  # transactions: one readable line of micro-ops, what the reads saw if ok
            row[6], row[7] = txn_view.table_text(row[7] if row[7] is not None else row[6]), None
    rows.sort(key=lambda r: r[0])
    return rows


def _faults_table(data: ReportData, avail: availability_view.Figures | None = None) -> str:
    if not data.faults and not data.nemesis_points:
        return tag("p", "No faults were injected in this run.", class_="note")
    rows = [
        [
            esc(w.kind),
            esc(", ".join(w.nodes) or "all"),
            esc(fmt_seconds(w.start - data.t0)),
            esc(fmt_seconds(w.end - data.t0) if w.end is not None else "never ended"),
            esc(fmt_seconds(w.end - w.start) if w.end is not None else "-"),
            availability_view.recovery_cell(avail, w),
            esc(w.detail()),
        ]
        for w in data.faults
    ]
    rows += [
        [esc(op.f), "", esc(fmt_seconds(op.time - data.t0)), "", "", "", esc(show(op.value, 200))]
        for op in data.nemesis_points
    ]
    return table(["fault", "nodes", "start", "end", "duration", "recovery", "detail"], rows, class_="faults")


def _counterexamples(data: ReportData, checkers: Checkers) -> str:
    """Each failed checker's counterexample, drawn by the view its checker declares (none: nothing drawn)."""
    out = []
    for name, r in (data.results.results if data.results is not None else {}).items():
        checker = checkers.of(r)
        if r.valid is not False or checker is None or checker.view is None:
            continue
        try:
            drawn = _view(checker)(r.details, data)
        except Exception as e:  # noqa: BLE001 - a broken view costs its drawing, not the report
            drawn = tag(
                "p",
                esc(f"The view {checker.view} of the {checker.name} checker failed: {type(e).__name__}: {e}"),
                class_="note view-error",
            )
        if drawn:
            out.append(tag("h2", esc(f"Why {name} failed")) + drawn)
    return "".join(out)


def _view(checker: Checker) -> Callable[..., str]:
    """The function a checker's ``view`` names (``module:function``), imported now that a report is drawn."""
    module, _, attr = str(checker.view).partition(":")
    fn = importlib.import_module(module)
    for part in attr.split("."):
        fn = getattr(fn, part)
    if not callable(fn):
        raise TypeError(f"{checker.view} is not a function view(details, data) -> str")
    return fn


def _nodes(data: ReportData) -> str:
    svg, rows = timeline.node_lanes(data)
    cells = [
        [
            esc(r["node"]),
            esc(r["downs"]),
            esc(r["pauses"]),
            esc(fmt_seconds(float(str(r["down"])))),
            esc(r["faults"]),
            esc(len(data.logs.get(str(r["node"]), "").splitlines())),
        ]
        for r in rows
    ]
    return svg + table(
        [
            "node",
            "times down (kill / restart)",
            "pauses",
            "time down or paused",
            "faults involving it",
            "log lines",
        ],
        cells,
        class_="node-table",
    )


def _logs(data: ReportData) -> str:
    if not data.logs:
        return tag("p", "No node logs were collected.", class_="note")
    out = []
    for node, text in data.logs.items():
        lines = text.splitlines()
        cut = f" (last {LOG_TAIL} of {len(lines)} lines)" if len(lines) > LOG_TAIL else ""
        out.append(
            tag(
                "details",
                tag("summary", esc(f"{node}{cut}"))
                + tag("pre", esc("\n".join(lines[-LOG_TAIL:])), class_="log"),
            )
        )
    return "".join(out)


def render(data: ReportData, checkers: Checkers | None = None) -> str:
    """The page; ``checkers`` (default: the installed ones) give verdicts their words, ops and views."""
    run = data.run
    outcome = data.outcome()
    title = f"chaos report: {run.experiment if run.experiment is not None else 'unnamed run'}"
    checkers = checkers or Checkers()
    highlight = verdicts.named_ops(data.results, checkers)
    avail = availability_view.figures(data)
    parts = [
        tag("h1", esc(title)),
        tag(
            "div",
            esc(OUTCOME_TEXT.get(outcome, outcome)),
            class_=f"outcome outcome-{outcome}",
            data_outcome=outcome,
        ),
        evidence_view.render(data),
        _facts(run),
    ]
    if data.history_error:
        parts.append(
            tag(
                "p",
                esc(f"The history is malformed, so operations are not paired: {data.history_error}"),
                class_="verdict verdict-unknown",
            )
        )
    parts += [
        tag("h2", "Verdicts"),
        verdicts.banners(data.results, run, checkers),
        _counterexamples(data, checkers),
        tag("h2", "Timeline of client operations"),
        tag(
            "p",
            esc(
                f"{len(data.pairs)} client operations in {data.lane_count} lanes, "
                f"{len(data.faults)} fault windows (bands). Green ok, red fail, orange info (unknown). "
                "Hover for details; click to find an operation in the table."
            ),
            class_="note",
        ),
        timeline.op_timeline(
            data, highlight, overlay=lambda axis, y0, y1: availability_view.markers(avail, axis.x, y0, y1)
        ),
        tag("h2", "Throughput and latency"),
        timeline.rates(data),
        tag("h2", "Availability and recovery"),
        availability_view.section(avail),
        tag("h2", "Nodes: down and paused"),
        _nodes(data),
        tag("h2", "Faults"),
        _faults_table(data, avail),
        tag("h2", "All operations"),
        '<input class="filter" id="optable-filter" type="search" '
        'placeholder="filter: process, f, type, value">'
        ' <span id="optable-count" class="note"></span>'
        '<div class="optable"><div class="optable-head"><span>op</span><span>process</span><span>f</span>'
        "<span>type</span><span>invoked</span><span>completed</span><span>value</span><span>result</span></div>"
        '<div id="optable-scroll"><div id="optable-spacer"><div id="optable-body"></div></div></div></div>',
        tag("h2", "Node logs"),
        _logs(data),
    ]
    data_json = script_json({"rows": _op_rows(data)})
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{_asset('report.css')}</style></head><body>"
        + "".join(parts)
        + f'<script type="application/json" id="op-data">{data_json}</script>'
        + f"<script>{_asset('report.js')}</script></body></html>\n"
    )
