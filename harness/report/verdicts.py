"""One verdict banner per invariant, each with a paragraph in plain words saying what was decided and why.

The explanation is written from the checker's stored details, dispatched on their type (each checker's own
``Details``, read back by ``harness.checkers.details``); the checker's own ``summary`` is shown beneath it. A
run with no results (crashed, interrupted) gets one banner that says so instead of a verdict.
"""

from __future__ import annotations

from harness.checkers.availability import AvailabilityDetails
from harness.checkers.base import Result
from harness.checkers.exactly_once import ExactlyOnceDetails
from harness.checkers.linearizable import FailedPart, LinearizableDetails
from harness.checkers.lock_safety import LockSafetyDetails
from harness.checkers.txn.check import TxnDetails
from harness.record import ResultsRecord, RunRecord
from harness.report import availability_view, txn_view
from harness.report.markup import esc, show, tag

LABELS = {True: ("valid", "HOLDS"), False: ("invalid", "VIOLATED"), "unknown": ("unknown", "UNKNOWN")}


def explain(name: str, result: Result) -> str:
    """A one-paragraph explanation of a verdict, in plain words."""
    valid, d = result.valid, result.details
    if valid == "unknown" or valid not in (True, False):
        why = f" The checker stopped with: {result.error}." if result.error else ""
        if isinstance(d, LinearizableDetails) and d.unknown_parts:
            why += (
                f" The search ran out of its budget on key(s) {show(list(d.unknown_parts), 200)}: no "
                "violation was found there, but none was ruled out either."
            )
        return f"The {name} checker could not decide whether the invariant holds.{why}"
    if isinstance(d, AvailabilityDetails):
        return availability_view.explain(valid, d)
    if isinstance(d, LinearizableDetails):
        return _explain_lin(valid, d)
    if isinstance(d, ExactlyOnceDetails):
        return _explain_eo(valid, d)
    if isinstance(d, LockSafetyDetails):
        return _explain_lock(valid, d)
    return f"The {name} invariant {'holds' if valid else 'was violated'} on this history."


def _q(v: object) -> object:
    return "?" if v is None else v


def _explain_lin(valid: bool, d: LinearizableDetails) -> str:
    if valid:
        return (
            f"Every operation of the {d.model or 'kv'} model, split into {_q(d.parts)} "
            f"independent key(s) ({_q(d.ops)} operations), can be put in one order that respects "
            "real time and behaves like a single copy of the data: the system looked linearizable."
        )
    fp = d.failed_part or FailedPart(None, [], [], [])
    longest = fp.longest or [[]]
    return (
        f"Key {show(fp.key)}: no order of its {len(fp.ops)} operations "
        f"both respects real time and behaves like a single copy of the data. The longest consistent prefix "
        f"found orders {len(longest[0]) if longest else 0} of them (ending in state "
        f"{show(fp.final_state, 80)}); "
        f"after it, none of operation(s) {', '.join('#' + str(i) for i in fp.stuck_ops[:8]) or '(none)'} "
        "could go next - "
        "the value observed there cannot be explained by any write that could have happened before it. "
        "The drawing below shows these operations."
    )


def _explain_eo(valid: bool, d: ExactlyOnceDetails) -> str:
    counts = d.counts
    applied = counts.get("applied", "?")
    if valid:
        return (
            f"Every message the broker acknowledged was applied exactly once ({applied} effects, "
            f"{counts.get('sent_ok', '?')} acknowledged sends, {counts.get('sent_info', 0)} with unknown "
            "outcome): nothing was lost, duplicated or invented."
        )
    return (
        f"Effects were not applied exactly once: {len(d.lost)} acknowledged message(s) were lost, "
        f"{len(d.duplicated)} were applied more than once and {len(d.unexpected)} were applied although "
        "no send of them could have succeeded. The tables below list each with its delivery trail."
    )


def _explain_lock(valid: bool, d: LockSafetyDetails) -> str:
    if valid:
        return (
            f"No two clients held the lock at the same time as seen by the protected resource "
            f"({_q(d.grants)} grants, {_q(d.writes)} accepted writes), fencing tokens "
            "never went backwards, and no grant was made while another holder's lease was still running."
        )
    return (
        f"Mutual exclusion failed: {len(d.overlaps)} pair(s) of critical sections overlapped at the "
        f"resource, {len(d.token_regressions)} accepted write(s) carried an older fencing token than one "
        f"before them, {len(d.duplicate_grants)} token(s) were granted more than once, and "
        f"{len(d.lease_overlaps)} grant(s) were made while another holder's lease was still running."
    )


def banners(results: ResultsRecord | None, run: RunRecord) -> str:
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
    thin = results.evidence is not None and not results.evidence.enough  # see harness.evidence
    for name, r in entries.items():
        cls, word = LABELS[r.valid]
        if thin and r.valid is True:
            cls, word = "unknown", "HOLDS, but on a history that proves too little (see above)"
        body = tag("h3", esc(f"{name}: {word}"))
        body += tag("p", esc(explain(name, r)), class_="explain")
        if r.summary:
            body += tag("p", esc(r.summary), class_="summary")
        out.append(tag("div", body, class_=f"verdict verdict-{cls}", data_checker=name, data_valid=cls))
    return "".join(out)


def named_ops(results: ResultsRecord | None) -> set[int]:
    """Op indices that checker details point at: drawn individually even in an aggregated timeline."""
    found: set[int] = set()
    if results is None:
        return found
    for r in results.results.values():
        d = r.details
        if isinstance(d, LinearizableDetails) and d.failed_part is not None:
            fp = d.failed_part
            found.update(fp.stuck_ops)
            for lin in fp.longest[:1]:
                found.update(lin[-50:])
            if len(fp.ops) <= 200:
                found.update(fp.ops)
        elif isinstance(d, ExactlyOnceDetails):
            found.update(
                e["send_index"] for e in (*d.lost, *d.recovered) if isinstance(e.get("send_index"), int)
            )
        elif isinstance(d, TxnDetails):
            found.update(txn_view.named_ops(d))
        elif isinstance(d, LockSafetyDetails):
            for g in d.duplicate_grants:
                found.update(i for i in g.get("grants") or [] if isinstance(i, int))
    return found
