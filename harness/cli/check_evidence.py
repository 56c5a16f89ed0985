"""The evidence half of ``chaos check``: a checker's verdict weighed by what the history holds.

    --evidence auto|on|off   auto (default): on for the harness's own jsonl histories, off for imported ones
    --min-ok N               ops that must complete ok (default: the run's evidence.min_ok for a bundle's
                             history.jsonl, else 1)

With evidence on (``harness.evidence``), a history in which some kind of op never completed ok (or fewer
than ``--min-ok`` did, or, for a bundle's ``history.jsonl``, a final op never succeeded) is not judged valid:
``unknown``, exit 2; a violation found stands. Imported Jepsen / Porcupine histories are judged as their own
tools judge them (the checker alone) unless ``--evidence on``. Counts are printed (and in ``--json`` under
``evidence``) either way.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness import evidence as ev
from harness.checkers.base import Result, Validity
from harness.errors import BadInput
from harness.history import History

RUN_FILE = "run.json"  # a bundle's run record (harness.record.RUN_FILE_NAME), read only when it is there


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--evidence",
        default="auto",
        choices=("auto", "on", "off"),
        help="judge too little evidence unknown (auto: on for jsonl, off for imported formats)",
    )
    p.add_argument(
        "--min-ok",
        type=int,
        default=None,
        metavar="N",
        help="ops that must complete ok (default: a bundle's evidence.min_ok, else 1)",
    )


def _bundle_evidence(history_path: str) -> ev.Evidence | None:
    """The evidence the runner recorded for a bundle's ``history.jsonl`` (its rules and final phase)."""
    run_file = Path(history_path).with_name(RUN_FILE)
    if Path(history_path).name != "history.jsonl" or not run_file.is_file():
        return None
    from harness.record import read as read_record  # only for a bundle: a plain file does not pay for it

    try:
        return read_record(run_file).evidence
    except (OSError, BadInput):  # a history checked on its own: the run record beside it is only a hint
        return None


def gather(args: argparse.Namespace, fmt: str, history: History) -> tuple[ev.Evidence, bool]:
    """The history's evidence under the command line's rules, and whether it weighs on the verdict."""
    if args.min_ok is not None and args.min_ok < 0:
        raise BadInput(f"--min-ok {args.min_ok}: must be a non-negative integer")
    recorded = _bundle_evidence(args.history) if fmt == "jsonl" else None
    rules = recorded.rules if recorded is not None else ev.Rules(min_ok=1)
    if args.min_ok is not None:
        rules = ev.Rules(args.min_ok, rules.optional, rules.final)
    final_from = recorded.final_from if recorded is not None else None
    planned = recorded.faults_planned if recorded is not None else None
    found = ev.gather(history, rules, final_from=final_from, faults_planned=planned)
    applied = args.evidence == "on" or (args.evidence == "auto" and fmt == "jsonl")
    return found, applied


def verdict(result: Result, found: ev.Evidence, applied: bool) -> Validity:
    return ev.judge(result.valid, found) if applied else result.valid


def to_json(result: Result, found: ev.Evidence, applied: bool) -> dict[str, Any]:
    """The result object with ``valid`` weighed by the evidence, the checker's own in ``checker_valid``."""
    return {
        **result.to_dict(),
        "valid": verdict(result, found, applied),
        "checker_valid": result.valid,
        "evidence": {**found.to_dict(), "applied": applied},
    }


def print_plain(result: Result, found: ev.Evidence, applied: bool) -> None:
    print(f"ops: {ev.counts_line(found)}")
    if found.enough:
        return
    if applied and result.valid is not False:
        found_what = "no violation" if result.valid is True else "nothing decisive"
        print(f"not valid: the checker found {found_what}, but the history holds too little evidence:")
    elif not applied:
        print("evidence (not applied to the verdict; --evidence on applies it):")
    else:
        print("too little evidence, but a violation found needs none:")
    for why in found.lacking:
        print(f"  {why}")
