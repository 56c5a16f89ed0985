"""Night over night: per experiment, one row per run with small trend charts, flaky experiments, summary.json.

``chaos summary DIR`` (``harness.report.summary``) hands the bundles it found to ``build``, together with the
runs of earlier nights read from ``summary.json`` files under DIR (the nightly job restores the previous
night's file, so the trend spans nights although old bundles are gone). A run is identified by
``<experiment>/<bundle directory>``; a bundle on disk wins over a remembered row with the same id. Each
experiment keeps its latest ``MAX_RUNS`` runs.

*Flaky*: an experiment for which both ``pass`` and ``fail`` outcomes were seen on one version of the system
under test (``run.json``'s ``sut_version``: the user's commit or ``$CHAOS_SUT_VERSION``, see
``harness.provenance``; for runs that did not record one, the harness's ``code_version``; runs that recorded
neither share the version ``unrecorded``). ``unknown`` outcomes neither make nor clear flakiness.

``render`` draws the section of ``index.html``; ``to_json`` is ``summary.json`` for dashboards.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.atomic import write_whole
from harness.record import RunRecord
from harness.report.markup import esc, table, tag

SUMMARY_JSON = "summary.json"
FORMAT = 1
MAX_RUNS = 100
UNRECORDED = "unrecorded"


@dataclass(frozen=True)
class RunRow:
    """One run as the summary keeps it (also what ``summary.json`` stores)."""

    id: str
    experiment: str
    date: str
    seed: Any
    outcome: str
    ops_per_s: float | None
    recovery_s: list[float | None]
    check_s: float | None
    code_version: str
    bundle: str | None = None  # relative to the summary; None for runs remembered from earlier nights
    sut_version: str | None = None  # the system under test's version (None: not recorded)
    harness_version: str | None = None

    @property
    def version(self) -> str:
        """The version trends and flaky detection key on: the system's, else the harness's code version."""
        return self.sut_version or self.code_version

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunRow:
        return cls(
            id=str(d["id"]),
            experiment=str(d["experiment"]),
            date=str(d.get("date") or ""),
            seed=d.get("seed"),
            outcome=str(d.get("outcome") or "none"),
            ops_per_s=_num(d.get("ops_per_s")),
            recovery_s=[_num(x) for x in d.get("recovery_s") or []],
            check_s=_num(d.get("check_s")),
            code_version=str(d.get("code_version") or UNRECORDED),
            bundle=None,
            sut_version=str(d["sut_version"]) if d.get("sut_version") else None,
            harness_version=str(d["harness_version"]) if d.get("harness_version") else None,
        )


@dataclass
class ExperimentTrend:
    experiment: str
    runs: list[RunRow] = field(default_factory=list)

    @property
    def flaky_versions(self) -> list[str]:
        seen: dict[str, set[str]] = defaultdict(set)
        for r in self.runs:
            seen[r.version].add(r.outcome)
        return sorted(v for v, outs in seen.items() if {"pass", "fail"} <= outs)

    @property
    def flaky(self) -> bool:
        return bool(self.flaky_versions)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for r in self.runs:
            out[r.outcome] += 1
        return dict(out)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def row_of(
    bundle: Path,
    run: RunRecord,
    outcome: str,
    availability: Mapping[str, Any] | None,
    summary_dir: Path,
) -> RunRow:
    """The row of a bundle on disk: run.json facts, its outcome and the recovery time of each ended fault."""
    name = run.experiment or bundle.parent.name
    timings: Mapping[str, Any] = run.timings or {}
    recovery = [
        _num(f.get("recovery_s"))
        for f in (availability or {}).get("faults") or []
        if isinstance(f, Mapping) and f.get("end_s") is not None
    ]
    return RunRow(
        id=f"{name}/{bundle.resolve().name}",
        experiment=name,
        date=run.started or "",
        seed=run.seed,
        outcome=outcome,
        ops_per_s=_num(timings.get("ops_per_s")),
        recovery_s=recovery,
        check_s=_num(timings.get("check_s")),
        code_version=run.code_version or UNRECORDED,
        bundle=Path(os.path.relpath(bundle, summary_dir)).as_posix(),
        sut_version=run.sut_version,
        harness_version=run.harness_version,
    )


def read_previous(root: Path) -> list[RunRow]:
    """Runs remembered in every ``summary.json`` under ``root`` (unreadable files are skipped)."""
    rows: list[RunRow] = []
    for p in sorted(root.rglob(SUMMARY_JSON)):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            for exp in data.get("experiments") or []:
                rows.extend(RunRow.from_dict(r) for r in exp.get("runs") or [])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return rows


def build(current: Iterable[RunRow], previous: Iterable[RunRow] = ()) -> list[ExperimentTrend]:
    """Merge (bundles on disk win), order each experiment's runs by date, keep the latest ``MAX_RUNS``."""
    by_id: dict[str, RunRow] = {r.id: r for r in previous}
    by_id.update({r.id: r for r in current})
    groups: dict[str, list[RunRow]] = defaultdict(list)
    for r in by_id.values():
        groups[r.experiment].append(r)
    return [
        ExperimentTrend(name, sorted(rs, key=lambda r: (r.date, r.id))[-MAX_RUNS:])
        for name, rs in sorted(groups.items())
    ]


def to_json(trends: Sequence[ExperimentTrend]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "flaky": [t.experiment for t in trends if t.flaky],
        "experiments": [
            {
                "experiment": t.experiment,
                "flaky": t.flaky,
                "flaky_versions": t.flaky_versions,
                "counts": t.counts(),
                "runs": [asdict(r) for r in t.runs],
            }
            for t in trends
        ],
    }


def flaky_experiments(summary_dir: Path) -> list[str]:
    """The experiments the ``summary.json`` in ``summary_dir`` flags as flaky (none when it is unreadable)."""
    try:
        data = json.loads((summary_dir / SUMMARY_JSON).read_text(encoding="utf-8"))
        return [str(x) for x in data.get("flaky") or []]
    except (OSError, ValueError, AttributeError):
        return []


def write_json(trends: Sequence[ExperimentTrend], path: Path) -> None:
    write_whole(path, json.dumps(to_json(trends), indent=2, default=str) + "\n")


# --- rendering

W, H, TOP = 220, 40, 4
COLOURS = {"pass": "#2e8b57", "fail": "#c62828", "unknown": "#a35f00", "none": "#888"}


def spark(name: str, values: Sequence[float | None], unit: str) -> str:
    """A small line chart of one figure over runs, scaled from its min to its max (gaps: no value)."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    if not pts:
        return tag("span", esc(f"{name}: no data"), class_="spark-empty")
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> str:
        y = (TOP + H - 4) / 2 if hi == lo else H - 4 - (v - lo) / (hi - lo) * (H - 4 - TOP)
        return f"{4 + i / n * (W - 8):.1f},{y:.1f}"

    coords = " ".join(xy(i, v) for i, v in pts)
    dots = "".join(
        f'<circle cx="{xy(i, v).split(",")[0]}" cy="{xy(i, v).split(",")[1]}" r="2">'
        f"<title>run {i + 1}: {v:.4g} {esc(unit)}</title></circle>"
        for i, v in pts
    )
    last = pts[-1][1]
    # The label is page text beside the chart, not SVG text: it stays at the page's font size however the
    # chart is scaled (SVG text of a scaled-down chart was about 6 px).
    caption = tag("figcaption", esc(f"{name}: {last:.4g} {unit} (range {lo:.4g}-{hi:.4g})"))
    svg = tag(
        "svg",
        f'<polyline points="{coords}"/>{dots}',
        class_="spark",
        data_figure=name,
        viewBox=f"0 0 {W} {H}",
        width=str(W),
        height=str(H),
    )
    return tag("figure", caption + svg, class_="spark-figure")


def outcome_strip(runs: Sequence[RunRow]) -> str:
    """One square per run, coloured by outcome, oldest first."""
    size = 10
    body = "".join(
        f'<rect x="{i * (size + 2)}" y="0" width="{size}" height="{size}" '
        f'fill="{COLOURS.get(r.outcome, "#888")}"'
        f' data-outcome="{esc(r.outcome)}"><title>{esc(r.date)} seed {esc(r.seed)}: {esc(r.outcome)}'
        f" ({esc(r.version)})</title></rect>"
        for i, r in enumerate(runs)
    )
    width = max(len(runs) * (size + 2), size)
    return tag(
        "svg", body, class_="outcomes", viewBox=f"0 0 {width} {size}", width=str(width), height=str(size)
    )


def _fmt(v: float | None, unit: str = "") -> str:
    return "-" if v is None else f"{v:.4g}{unit}"


def _experiment(t: ExperimentTrend) -> str:
    flag = (
        tag(
            "span",
            esc(f"FLAKY: pass and fail on version {', '.join(t.flaky_versions)}"),
            class_="flaky",
        )
        if t.flaky
        else ""
    )
    recs = [max((x for x in r.recovery_s if x is not None), default=None) for r in t.runs]
    charts = (
        outcome_strip(t.runs)
        + spark("ops/s", [r.ops_per_s for r in t.runs], "ops/s")
        + spark("max recovery", recs, "s")
        + spark("checker time", [r.check_s for r in t.runs], "s")
    )
    rows = []
    for r in reversed(t.runs):
        link = tag("a", esc("report"), href=f"{r.bundle}/report.html") if r.bundle else esc("earlier night")
        rec = ", ".join("not recovered" if x is None else f"{x:g}" for x in r.recovery_s) or "-"
        rows.append(
            [
                esc(r.date or "-"),
                esc(r.seed if r.seed is not None else "-"),
                tag("span", esc(r.outcome), class_=f"outcome-cell o-{r.outcome}"),
                esc(_fmt(r.ops_per_s)),
                esc(rec),
                esc(_fmt(r.check_s, " s")),
                esc(r.version),
                link,
            ]
        )
    return tag(
        "section",
        tag("h3", esc(t.experiment) + " " + flag)
        + tag("div", charts, class_="trend-charts")
        + table(
            ["date", "seed", "outcome", "ops/s", "recovery (s)", "checker time", "version", "run"],
            rows,
            class_="trend-table",
        ),
        class_="trend flaky-experiment" if t.flaky else "trend",
        data_experiment=t.experiment,
        data_flaky="true" if t.flaky else "false",
    )


STYLE = (
    ".spark polyline{fill:none;stroke:#3b6db3;stroke-width:1.5}.spark circle{fill:#3b6db3}"
    ".spark-figure{margin:0}.spark-figure figcaption{font-size:13px;color:#333;margin-bottom:2px}"
    ".trend-charts{display:flex;gap:12px;align-items:flex-end;margin:4px 0}"
    ".flaky{background:#c62828;color:#fff;padding:1px 6px;border-radius:3px;font-size:12px}"
    ".trend{margin:14px 0;padding-top:4px;border-top:1px solid #eee}"
)


def render(trends: Sequence[ExperimentTrend]) -> str:
    flaky = [t.experiment for t in trends if t.flaky]
    head = tag("h2", esc("Night over night"))
    head += tag(
        "p",
        esc(
            f"{sum(len(t.runs) for t in trends)} run(s) of {len(trends)} experiment(s), earlier nights "
            "included; " + (f"flaky: {', '.join(flaky)}" if flaky else "no flaky experiment")
        ),
        class_="trends-headline",
    )
    return tag("div", head + "".join(_experiment(t) for t in trends), class_="trends")
