"""A run's outcome, decided in one place: pass / fail / unknown / crashed, or none (no verdict).

``decide`` weighs the checkers' verdict by the evidence (``harness.evidence``) against the experiment's
``expect``, or takes the run's crash or interrupt state, and returns the outcome word recorded in ``run.json``
and ``results.json`` (what reports, ``chaos summary`` and CI key on), the exit code and the verdict in words.
The runner (``harness.run``) calls it when a run ends; ``of_bundle`` gives the outcome of a saved bundle --
the one the runner recorded, else (a bundle written before outcomes were recorded) ``decide`` on what was
stored -- and is what the report (``harness.report.data``) and ``chaos summary`` show.

    outcome    exit  when
    pass       0     the verdict matches ``expect``
    fail       1     an invariant was violated unexpectedly, or a planted bug was not caught (also for lack
                     of evidence: a run must exercise the system to catch anything)
    unknown    2     a checker could not decide, or the history proves too little for ``expect: valid``
    crashed    3     a worker, the nemesis or the runner raised: healed, cleaned up, not checked
    none       130   interrupted (or killed): the run stopped before its history was checked
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checkers.base import UNKNOWN, Validity
from harness.errors import EXIT_CRASHED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, EXIT_UNKNOWN
from harness.evidence import Evidence
from harness.record import RunRecord

PASS, FAIL, UNKNOWN_OUTCOME, CRASHED, NONE = "pass", "fail", "unknown", "crashed", "none"
OUTCOMES = (PASS, FAIL, UNKNOWN_OUTCOME, CRASHED, NONE)


def validity_word(valid: Validity | None) -> str:
    """A verdict as failure messages say it: ``valid``, ``violated`` or ``unknown``."""
    return "valid" if valid is True else "violated" if valid is False else "unknown"


@dataclass(frozen=True)
class Decision:
    """``outcome`` (one of ``OUTCOMES``), the exit code, and ``verdict``: the outcome in words."""

    outcome: str
    exit_code: int
    verdict: str


def decide(
    valid: Validity | None,
    expect: str | None,
    evidence: Evidence | None = None,
    *,
    crashed: bool = False,
    interrupted: bool = False,
) -> Decision:
    """The outcome of a run; see the module docstring.

    ``valid`` is the checkers' own composed verdict (``None``: not checked). A violation found stands whatever
    the evidence; otherwise a history that lacks evidence proves nothing: unknown for ``expect: valid``, and a
    planted bug not caught for ``expect: invalid``.
    """
    if crashed:
        return Decision(CRASHED, EXIT_CRASHED, "crashed")
    if interrupted or valid is None:
        return Decision(NONE, EXIT_INTERRUPTED, "interrupted")
    expect_valid = expect != "invalid"
    if valid is not False and evidence is not None and not evidence.enough:
        if not expect_valid:
            return Decision(FAIL, EXIT_INVALID, "planted bug not caught")
        return Decision(UNKNOWN_OUTCOME, EXIT_UNKNOWN, "unknown")
    if valid == UNKNOWN:
        return Decision(UNKNOWN_OUTCOME, EXIT_UNKNOWN, "unknown")
    if (valid is True) == expect_valid:
        return Decision(PASS, EXIT_OK, "as expected")
    return Decision(FAIL, EXIT_INVALID, "invariant violated" if expect_valid else "planted bug not caught")


def of_bundle(record: RunRecord, valid: Validity | None, recorded: str | None = None) -> str:
    """The outcome of a saved run: ``recorded`` (results.json's) or the run record's, as the runner decided
    it; else decided from the stored verdict ``valid`` (``None``: no results -> ``none``)."""
    for word in (recorded, record.outcome):
        if word:
            return word
    return decide(valid, record.expect).outcome
