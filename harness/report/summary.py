"""``index.html`` for a suite run: one page linking every run's report below a directory, with verdicts.

Finds bundles (directories holding ``run.json``) below a directory, follows no ``latest`` link twice, renders
a bundle's ``report.html`` when it is missing, and writes a table: experiment, seed, expectation, each
checker's verdict, outcome, status (with a crashed run's error), evidence (too little of it; no fault
injected: ``harness.evidence``), and a relative link to the report. Used by ``chaos summary`` and the nightly
CI job.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import evidence as ev
from harness.atomic import write_whole
from harness.bundle import RUN_FILE, Bundle
from harness.errors import BadInput, HarnessError
from harness.record import RunRecord
from harness.report import availability_view, data, evidence_view, page, trends
from harness.report.markup import esc, table, tag

WORD = {True: "holds", False: "violated", "unknown": "unknown"}


@dataclass(frozen=True)
class Entry:
    bundle: Path
    run: RunRecord
    verdicts: dict[str, Any]
    outcome: str
    report: Path | None
    error: str | None = None
    availability: Any = None  # availability figures (recovery per fault), for the night-over-night trends
    evidence: str = "-"  # "enough", "too little: ...", "no fault injected"
    no_fault: bool = False


def find_bundles(root: Path) -> list[Path]:
    seen: set[Path] = set()
    found: list[Path] = []
    for run_file in sorted(root.rglob(RUN_FILE)):
        real = run_file.parent.resolve()
        if real not in seen:
            seen.add(real)
            found.append(run_file.parent)
    return found


def _entry(path: Path, render_missing: bool) -> Entry:
    bundle = Bundle(path)
    try:
        d = data.load(bundle)
    except HarnessError as e:
        return Entry(path, RunRecord(), {}, "none", None, str(e))
    report: Path | None = bundle.report_file
    if not bundle.report_file.exists():
        if render_missing:
            write_whole(bundle.report_file, page.render(d))
        else:
            report = None
    verdicts = {k: r.valid for k, r in (d.results.results if d.results is not None else {}).items()}
    found, recorded = evidence_view.stored_evidence(d)
    return Entry(
        path,
        d.run,
        verdicts,
        d.outcome(),
        report,
        None,
        evidence=_evidence_words(found, recorded),
        no_fault=found is not None and found.no_fault,
        availability=availability_view.figures(d),
    )


def _evidence_words(found: ev.Evidence | None, recorded: bool) -> str:
    """What the evidence column says; a judgement only when the runner recorded one."""
    if found is None:
        return "-"
    words = []
    if recorded and not found.enough:
        words.append("too little: " + "; ".join(found.lacking))
    if found.no_fault:
        words.append("no fault injected")
    return "; ".join(words) or "enough"


def _name(e: Entry) -> str:
    return e.run.experiment if e.run.experiment is not None else e.bundle.name


def _status(e: Entry) -> str:
    if e.error is not None:
        return e.error
    status = e.run.status or "-"
    return f"{status}: {e.run.error}" if status == "crashed" and e.run.error else status


def write_summary(
    root: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, *, render_missing: bool = True
) -> tuple[Path, list[Entry]]:
    """Write ``root/index.html`` (or ``out``) and ``summary.json`` beside it (``harness.report.trends``: runs
    of earlier nights remembered in ``summary.json`` files under ``root`` are merged in); returns the page's
    path and the entries it lists."""
    base = Path(root)
    if not base.is_dir():
        raise BadInput(f"{root}: not a directory; pass the directory holding the run bundles (e.g. reports/)")
    target = Path(out) if out is not None else base / "index.html"
    entries = [_entry(p, render_missing) for p in find_bundles(base)]
    entries.sort(key=lambda e: (_name(e), e.run.started or ""))
    counts = Counter(e.outcome for e in entries)
    rows = []
    for e in entries:
        verdict_cells = "<br>".join(
            tag("span", esc(f"{k}: {WORD.get(v, str(v))}"), class_=f"v-{WORD.get(v, 'unknown')}")
            for k, v in e.verdicts.items()
        ) or esc("no results")
        link = esc("no report")
        if e.report is not None:
            rel = os.path.relpath(e.report, target.parent)
            link = tag("a", esc("report"), href=Path(rel).as_posix())
        rows.append(
            [
                esc(_name(e)),
                esc(e.run.seed if e.run.seed is not None else "-"),
                esc(e.run.expect or "-"),
                verdict_cells,
                tag("span", esc(e.outcome), class_=f"outcome-cell o-{e.outcome}"),
                esc(_status(e)),
                tag("span", esc(e.evidence), class_="evidence-cell"),
                link,
            ]
        )
    headline = (
        ", ".join(f"{counts[k]} {k}" for k in ("pass", "fail", "unknown", "crashed", "none") if counts[k])
        or "no runs"
    )
    no_fault = sum(e.no_fault for e in entries)
    if no_fault:
        headline += (
            f"; {no_fault} without any fault injected (they tested the system, not its fault tolerance)"
        )
    body = (
        tag("h1", esc(f"chaos suite summary: {len(entries)} run(s)"))
        + tag("p", esc(headline), class_="headline")
        + table(
            ["experiment", "seed", "expect", "verdicts", "outcome", "status", "evidence", "report"],
            rows,
            class_="summary-table",
        )
    )
    previous = trends.read_previous(base)
    trend = trends.build(
        [
            trends.row_of(e.bundle, e.run, e.outcome, e.availability, target.parent)
            for e in entries
            if e.error is None
        ],
        previous,
    )
    body += trends.render(trend)
    trends.write_json(trend, target.parent / trends.SUMMARY_JSON)
    style = (
        "body{font:14px system-ui,sans-serif;margin:20px}td,th{border:1px solid #ddd;padding:3px 8px}"
        "table{border-collapse:collapse}.o-pass{color:#2e8b57}.o-fail{color:#c62828;font-weight:700}"
        ".o-unknown,.o-none{color:#a35f00}.o-crashed{color:#555;font-weight:700}.v-violated{color:#c62828}"
        + trends.STYLE
    )
    html_text = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>chaos suite summary</title><style>{style}</style></head><body>{body}</body></html>\n"
    )
    write_whole(target, html_text)
    return target, entries
