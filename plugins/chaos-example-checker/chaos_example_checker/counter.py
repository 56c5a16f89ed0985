"""The ``counter`` checker: every read of a grow-only counter lies within what the adds allow.

The history holds ``add`` ops (value: a non-negative integer, the increment) and ``read`` ops (completed
``ok`` with the count seen). As Jepsen's counter checker reasons, an ok read that started after some adds were
acknowledged must see at least their sum, and it cannot see more than the sum of every add that may have
happened before it ended (acknowledged or of unknown outcome; a failed add certainly did not happen):

    lower = sum of the adds completed ok before the read was invoked
    upper = sum of the adds invoked, and not failed, before the read completed

A read outside [lower, upper] is an error. No ok read: nothing was observed, the verdict is unknown.

The checker declares everything about itself once, in ``CHECKER`` (``harness.checkers.contract.Checker``): its
details type and the keys those always hold, its words for a verdict, the ops a verdict names, and its report
view by name (``chaos_example_checker.view:render``), which the report imports only when it draws one.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from harness.checkers.base import UNKNOWN, Details, Result, Validity
from harness.checkers.contract import Checker
from harness.history import History
from harness.wellformed import BadOp

NAME = "counter"


@dataclass(frozen=True)
class CounterDetails(Details):
    """How many ok reads and adds there were, and each read outside its bounds (``errors``: JSON objects
    ``{"index", "process", "value", "lower", "upper"}``, ``index`` the read's invocation)."""

    reads: int
    adds: int
    errors: Sequence[Mapping[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"reads": self.reads, "adds": self.adds, "errors": [dict(e) for e in self.errors]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CounterDetails:
        errors = [e for e in d.get("errors") or [] if isinstance(e, Mapping)]
        return cls(reads=int(d.get("reads") or 0), adds=int(d.get("adds") or 0), errors=errors)


def _amount(index: int, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadOp(index, f"an add's value must be a non-negative integer, got {value!r}")
    return value


def _sum_before(points: list[tuple[int, int]]) -> Callable[[int], int]:
    """``before(position)``: the sum of the amounts of ``points`` ((position, amount)) placed before it."""
    points = sorted(points)
    positions, sums = [p for p, _ in points], [0, *accumulate(a for _, a in points)]
    return lambda position: sums[bisect_left(positions, position)]


def check(history: History, max_reported: int = 100, **_options: Any) -> Result:
    """Decide the counter's reads (see the module docstring); ``max_reported`` bounds the errors listed."""
    acked: list[tuple[int, int]] = []  # (completion index, amount) of adds completed ok
    attempted: list[tuple[int, int]] = []  # (invocation index, amount) of adds that may have happened
    reads = []
    for p in history.pairs():
        if p.invoke.f == "add":
            amount = _amount(p.invoke.index, p.invoke.value)
            if p.type != "fail":
                attempted.append((p.invoke.index, amount))
            if p.type == "ok" and p.complete is not None:
                acked.append((p.complete.index, amount))
        elif p.invoke.f == "read" and p.type == "ok" and p.complete is not None:
            if isinstance(p.complete.value, bool) or not isinstance(p.complete.value, int):
                raise BadOp(p.complete.index, f"a read's value must be an integer, got {p.complete.value!r}")
            reads.append(p)
    acked_before, attempted_before = _sum_before(acked), _sum_before(attempted)
    errors = []
    for p in reads:
        assert p.complete is not None
        lower, upper = acked_before(p.invoke.index), attempted_before(p.complete.index)
        if not lower <= p.complete.value <= upper:
            errors.append(
                {"index": p.invoke.index, "process": p.invoke.process, "value": p.complete.value,
                 "lower": lower, "upper": upper}
            )  # fmt: skip
    details = CounterDetails(reads=len(reads), adds=len(attempted), errors=errors[:max_reported])
    if not reads:
        return Result(NAME, UNKNOWN, "no read of the counter completed ok: nothing to decide", details)
    if errors:
        summary = f"{len(errors)} of {len(reads)} reads saw a count the adds cannot explain"
        return Result(NAME, False, summary, details)
    return Result(NAME, True, f"all {len(reads)} reads lay within the adds' bounds", details)


def explain(valid: Validity, d: CounterDetails) -> str | None:
    """The verdict in plain words."""
    if valid is True:
        return (
            f"Every one of the {d.reads} reads of the counter saw at least the adds acknowledged before it "
            "began and at most the adds that may have happened before it ended: no increment was lost or "
            "invented."
        )
    if valid is False:
        first = d.errors[0] if d.errors else {}
        return (
            f"{len(d.errors)} read(s) saw a count no order of the adds can explain; the first, op "
            f"#{first.get('index')}, saw {first.get('value')} where only {first.get('lower')} to "
            f"{first.get('upper')} was possible. The chart below shows each read against its bounds."
        )
    return None


def named_ops(d: CounterDetails) -> list[int]:
    """The reads outside their bounds."""
    return [e["index"] for e in d.errors if isinstance(e.get("index"), int)]


CHECKER = Checker(
    name=NAME,
    check=check,
    details=CounterDetails,
    required=("reads", "errors"),
    explain=explain,
    named_ops=named_ops,
    view="chaos_example_checker.view:render",
)
