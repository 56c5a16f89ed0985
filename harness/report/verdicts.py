"""One verdict banner per invariant, each with a paragraph in plain words saying what was decided and why.

The paragraph is the checker's own (``explain`` of its declaration, ``harness.checkers.contract``), found by
the checker name written with the result and given only details of that checker's own type; a checker with no
words of its own, or a result whose details are plain (a user's old-style checker, a crash), gets one generic
sentence. The checker's own ``summary`` is shown beneath it. A run with no results (crashed, interrupted) gets
one banner that says so instead of a verdict. No checker is named here.
"""

from __future__ import annotations

from harness.checkers.base import Result
from harness.checkers.contract import Checkers
from harness.record import ResultsRecord, RunRecord
from harness.report.markup import esc, tag

LABELS = {True: ("valid", "HOLDS"), False: ("invalid", "VIOLATED"), "unknown": ("unknown", "UNKNOWN")}


def explain(name: str, result: Result, checkers: Checkers | None = None) -> str:
    """A one-paragraph explanation of a verdict, in plain words."""
    valid = result.valid
    found = (checkers or Checkers()).of(result)
    words = found.words(valid, result.details) if found is not None else None
    if valid == "unknown" or valid not in (True, False):
        why = f" The checker stopped with: {result.error}." if result.error else ""
        if words:
            why += " " + words
        return f"The {name} checker could not decide whether the invariant holds.{why}"
    return words or f"The {name} invariant {'holds' if valid else 'was violated'} on this history."


def banners(results: ResultsRecord | None, run: RunRecord, checkers: Checkers | None = None) -> str:
    """The verdict banners, or one banner explaining why there are none."""
    if results is None:
        status = run.status or "unknown"
        return tag(
            "div",
            tag("h3", "No verdict")
            + tag(
                "p",
                esc(
                    f"This run has no checker results (run status: {status}). The run stopped before its "
                    "history was checked; the history recorded so far is shown below. Re-check it with "
                    "`chaos check`."
                ),
            ),
            class_="verdict verdict-none",
            data_checker="",
            data_valid="none",
        )
    out = []
    entries = results.results
    if not entries:
        return tag(
            "div",
            tag("h3", "No checkers ran") + tag("p", "results.json holds no checker results."),
            class_="verdict verdict-none",
            data_checker="",
            data_valid="none",
        )
    checkers = checkers or Checkers()
    thin = results.evidence is not None and not results.evidence.enough  # see harness.evidence
    for name, r in entries.items():
        cls, word = LABELS[r.valid]
        if thin and r.valid is True:
            cls, word = "unknown", "HOLDS, but on a history that proves too little (see above)"
        body = tag("h3", esc(f"{name}: {word}"))
        body += tag("p", esc(explain(name, r, checkers)), class_="explain")
        if r.summary:
            body += tag("p", esc(r.summary), class_="summary")
        out.append(tag("div", body, class_=f"verdict verdict-{cls}", data_checker=name, data_valid=cls))
    return "".join(out)


def named_ops(results: ResultsRecord | None, checkers: Checkers | None = None) -> set[int]:
    """Op indices that checker details point at (each checker's ``named_ops``): drawn individually even in an
    aggregated timeline."""
    found: set[int] = set()
    if results is None:
        return found
    checkers = checkers or Checkers()
    for r in results.results.values():
        checker = checkers.of(r)
        if checker is not None:
            found |= checker.ops_named(r.details)
    return found
