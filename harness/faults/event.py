"""One fault as data: ``FaultEvent``, both an experiment's explicit step and an entry of a fault schedule.

An experiment's ``faults.steps`` (``harness.experiment``) and the schedule drawn from them and a seed
(``harness.schedule``) hold the same record: a fault kind, when it starts (seconds after the workload
starts), how long it lasts, and the kind's own params. A step may leave params open (which nodes) that the
schedule resolves; both are ``FaultEvent``. It sits in the fault vocabulary, below the experiment and the
schedule, so neither has to import the other for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness.errors import BadInput
from harness.limits import MAX_SECONDS

EVENT_KEYS = ("kind", "at", "duration")  # a step's own fields; every other key is one of the kind's params


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class FaultEvent:
    """One fault: started ``at`` seconds after the workload starts, stopped ``duration`` seconds later."""

    kind: str
    at: float
    duration: float
    params: Mapping[str, Any] = field(default_factory=_empty)

    @property
    def end(self) -> float:
        return self.at + self.duration

    def to_dict(self, *, exact: bool = False) -> dict[str, Any]:
        """The step form ``{kind, at, duration, **params}``: times rounded to the millisecond as a schedule
        is recorded in ``run.json``, or ``exact`` as the experiment file gave them (its file form)."""
        at, duration = (self.at, self.duration) if exact else (round(self.at, 3), round(self.duration, 3))
        return {"kind": self.kind, "at": at, "duration": duration, **self.params}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FaultEvent:
        params = {k: v for k, v in d.items() if k not in EVENT_KEYS}
        try:
            kind, at, duration = str(d["kind"]), float(d["at"]), float(d["duration"])
        except (KeyError, TypeError, ValueError):
            raise BadInput(f"a recorded fault needs kind, at and duration, got {dict(d)!r:.200}") from None
        if not (0 <= at <= MAX_SECONDS and 0 <= duration <= MAX_SECONDS):
            raise BadInput(f"a recorded fault's at / duration ({at}, {duration}): each 0 to {MAX_SECONDS} s")
        return cls(kind, at, duration, MappingProxyType(params))
