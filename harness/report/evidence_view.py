"""The report's evidence banner: did the run crash, does its history prove anything, was any fault injected?

Read from what the runner stored (``run.json``: ``crashes`` / ``error``; ``results.json`` or ``run.json``:
``evidence``, see ``harness.evidence``). A bundle written before evidence was recorded gets its counts and the
no-fault note computed from its history, but no judgement the stored verdict did not make. Shown right under
the outcome line, above the verdict banners, because it qualifies every one of them.
"""

from __future__ import annotations

from harness import evidence as ev
from harness.record import RunRecord
from harness.report.data import ReportData
from harness.report.markup import esc, table, tag


def stored_evidence(data: ReportData) -> tuple[ev.Evidence | None, bool]:
    """The run's evidence and whether the runner recorded it (``False``: computed here, for display only)."""
    if data.results is not None and data.results.evidence is not None:
        return data.results.evidence, True
    if data.run.evidence is not None:
        return data.run.evidence, True
    if data.run.status == "crashed" or not len(data.history):
        return None, False
    planned = data.run.schedule
    return ev.gather(data.history, faults_planned=len(planned) if planned is not None else None), False


def _crash(run: RunRecord) -> str:
    crashes = run.crashes or ()
    if not crashes and not run.error:
        return ""
    items = "".join(
        tag("li", esc(f"{c.where} crashed: {c.error}"))
        + (
            tag("details", tag("summary", "traceback") + tag("pre", esc(c.traceback), class_="log"))
            if c.traceback
            else ""
        )
        for c in crashes
    ) or tag("li", esc(str(run.error)))
    return tag(
        "div",
        tag("h3", "CRASHED: the run did not complete, so its history was not checked")
        + tag("ul", items)
        + tag(
            "p",
            esc(
                "Faults were healed and the cluster removed; the history recorded until then "
                f"({run.ops if run.ops is not None else '?'} entries) is shown below. Fix the cause and run "
                "again."
            ),
        ),
        class_="evidence crash",
        data_evidence="crashed",
    )


def _lacking(found: ev.Evidence, expect: str, violation: bool) -> str:
    reasons = tag("ul", "".join(tag("li", esc(why)) for why in found.lacking))
    if violation:
        return tag(
            "div",
            tag("h3", "Little evidence, but a violation was found")
            + reasons
            + tag("p", esc("A violation a checker proved stands: it needs no more evidence.")),
            class_="evidence evidence-thin",
            data_evidence="thin",
        )
    consequence = (
        "so the planted bug was not caught: a run must exercise the system to catch anything"
        if expect == "invalid"
        else "so no verdict can stand: the outcome is unknown"
    )
    return tag(
        "div",
        tag("h3", "TOO LITTLE EVIDENCE: the history proves nothing")
        + reasons
        + tag(
            "p",
            esc(
                f"No checker found a violation, but a history that lacks these cannot show one either, "
                f"{consequence}. A violation found would have stood."
            ),
        ),
        class_="evidence evidence-lacking",
        data_evidence="lacking",
    )


def _counts(found: ev.Evidence) -> str:
    rows = [[esc(f), esc(c.ok), esc(c.fail), esc(c.info)] for f, c in sorted(found.counts.items())] + [
        [esc(f"final {f}"), esc(c.ok), esc(c.fail), esc(c.info)] for f, c in sorted(found.final.items())
    ]
    if not rows:
        return ""
    return table(["operation", "ok", "failed", "unknown (info)"], rows, class_="evidence-counts")


def render(data: ReportData) -> str:
    """The crash banner, the lacking-evidence banner, the no-fault note and the per-operation counts."""
    run = data.run
    out = []
    if run.status == "crashed":
        out.append(_crash(run))
    found, recorded = stored_evidence(data)
    if found is None:
        return "".join(out)
    if recorded and not found.enough:
        violation = data.results is not None and data.results.violation
        out.append(_lacking(found, run.expect or "valid", violation))
    for note in found.notes():
        out.append(
            tag(
                "div",
                tag("h3", "No fault was injected") + tag("p", esc(note)),
                class_="evidence no-fault",
                data_evidence="no-fault",
            )
        )
    out.append(_counts(found))
    return "".join(out)
