"""One verdict banner per invariant, each with a paragraph in plain words saying what was decided and why.

The explanation is written from the checker's stored ``details`` (see ``harness.checkers.base.Result``); the
checker's own ``summary`` is shown beneath it. A run with no results (crashed, interrupted) gets one banner
that says so instead of a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.record import RunRecord
from harness.report import availability_view, txn_view
from harness.report.markup import esc, show, tag

LABELS = {True: ("valid", "HOLDS"), False: ("invalid", "VIOLATED"), "unknown": ("unknown", "UNKNOWN")}


def _n(d: Mapping[str, Any], key: str) -> int:
    v = d.get(key)
    return len(v) if isinstance(v, (list, tuple, dict)) else 0


def explain(name: str, valid: Any, details: Mapping[str, Any], error: str | None) -> str:
    """A one-paragraph explanation of a verdict, in plain words."""
    if valid == "unknown" or valid not in (True, False):
        why = f" The checker stopped with: {error}." if error else ""
        unknown_parts = details.get("unknown_parts")
        if isinstance(unknown_parts, list) and unknown_parts:
            why += (
                f" The search ran out of its budget on key(s) {show(unknown_parts, 200)}: no violation was "
                "found there, but none was ruled out either."
            )
        return f"The {name} checker could not decide whether the invariant holds.{why}"
    if name == "availability":
        return availability_view.explain(valid, details)
    if name == "linearizable" or "failed_part" in details:
        return _explain_lin(valid, details)
    if name == "exactly-once" or "lost" in details:
        return _explain_eo(valid, details)
    if name == "lock-safety" or "overlaps" in details:
        return _explain_lock(valid, details)
    return f"The {name} invariant {'holds' if valid else 'was violated'} on this history."


def _explain_lin(valid: bool, d: Mapping[str, Any]) -> str:
    if valid:
        return (
            f"Every operation of the {d.get('model', 'kv')} model, split into {d.get('parts', '?')} "
            f"independent key(s) ({d.get('ops', '?')} operations), can be put in one order that respects "
            "real time and behaves like a single copy of the data: the system looked linearizable."
        )
    fp = d.get("failed_part") or {}
    longest = fp.get("longest") or [[]]
    stuck = fp.get("stuck_ops") or []
    return (
        f"Key {show(fp.get('key'))}: no order of its {len(fp.get('ops') or [])} operations both respects "
        f"real time and behaves like a single copy of the data. The longest consistent prefix found orders "
        f"{len(longest[0]) if longest else 0} of them (ending in state {show(fp.get('final_state'), 80)}); "
        f"after it, none of operation(s) {', '.join('#' + str(i) for i in stuck[:8]) or '(none)'} "
        "could go next - "
        "the value observed there cannot be explained by any write that could have happened before it. "
        "The drawing below shows these operations."
    )


def _explain_eo(valid: bool, d: Mapping[str, Any]) -> str:
    counts = d.get("counts") or {}
    applied = counts.get("applied", "?")
    if valid:
        return (
            f"Every message the broker acknowledged was applied exactly once ({applied} effects, "
            f"{counts.get('sent_ok', '?')} acknowledged sends, {counts.get('sent_info', 0)} with unknown "
            "outcome): nothing was lost, duplicated or invented."
        )
    return (
        f"Effects were not applied exactly once: {_n(d, 'lost')} acknowledged message(s) were lost, "
        f"{_n(d, 'duplicated')} were applied more than once and {_n(d, 'unexpected')} were applied although "
        "no send of them could have succeeded. The tables below list each with its delivery trail."
    )


def _explain_lock(valid: bool, d: Mapping[str, Any]) -> str:
    if valid:
        return (
            f"No two clients held the lock at the same time as seen by the protected resource "
            f"({d.get('grants', '?')} grants, {d.get('writes', '?')} accepted writes), fencing tokens "
            "never went backwards, and no grant was made while another holder's lease was still running."
        )
    return (
        f"Mutual exclusion failed: {_n(d, 'overlaps')} pair(s) of critical sections overlapped at the "
        f"resource, {_n(d, 'token_regressions')} accepted write(s) carried an older fencing token than one "
        f"before them, {_n(d, 'duplicate_grants')} token(s) were granted more than once, and "
        f"{_n(d, 'lease_overlaps')} grant(s) were made while another holder's lease was still running."
    )


def banners(results: Mapping[str, Any] | None, run: RunRecord) -> str:
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
    entries = results.get("results") or {}
    if not isinstance(entries, Mapping) or not entries:
        return tag(
            "div",
            tag("h3", "No checkers ran") + tag("p", "results.json holds no checker results."),
            class_="verdict verdict-none",
            data_checker="",
            data_valid="none",
        )
    evidence = results.get("evidence")
    thin = isinstance(evidence, Mapping) and evidence.get("enough") is False  # see harness.evidence
    for name, r in entries.items():
        r = r if isinstance(r, Mapping) else {}
        valid = r.get("valid", "unknown")
        cls, word = LABELS.get(
            valid if isinstance(valid, bool) or valid == "unknown" else "unknown", LABELS["unknown"]
        )
        if thin and valid is True:
            cls, word = "unknown", "HOLDS, but on a history that proves too little (see above)"
        details = r.get("details") if isinstance(r.get("details"), Mapping) else {}
        body = tag("h3", esc(f"{name}: {word}"))
        body += tag("p", esc(explain(str(name), valid, details or {}, r.get("error"))), class_="explain")
        if r.get("summary"):
            body += tag("p", esc(r["summary"]), class_="summary")
        out.append(tag("div", body, class_=f"verdict verdict-{cls}", data_checker=str(name), data_valid=cls))
    return "".join(out)


def named_ops(results: Mapping[str, Any] | None) -> set[int]:
    """Op indices that checker details point at: drawn individually even in an aggregated timeline."""
    found: set[int] = set()
    if not results:
        return found
    for r in (results.get("results") or {}).values():
        d = r.get("details") if isinstance(r, Mapping) else None
        if not isinstance(d, Mapping):
            continue
        fp = d.get("failed_part")
        if isinstance(fp, Mapping):
            found.update(i for i in fp.get("stuck_ops") or [] if isinstance(i, int))
            for lin in (fp.get("longest") or [])[:1]:
                found.update(i for i in lin[-50:] if isinstance(i, int))
            ops = fp.get("ops") or []
            if len(ops) <= 200:
                found.update(i for i in ops if isinstance(i, int))
        for key in ("lost", "recovered"):
            found.update(
                e["send_index"]
                for e in d.get(key) or []
                if isinstance(e, Mapping) and isinstance(e.get("send_index"), int)
            )
        found.update(txn_view.named_ops(d))
        for g in d.get("duplicate_grants") or []:
            if isinstance(g, Mapping):
                found.update(i for i in g.get("grants") or [] if isinstance(i, int))
    return found
