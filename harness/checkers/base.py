"""Checker results and their composition.

A checker is a pure function ``check(history, **options) -> Result``. ``valid`` is ``True``, ``False`` or
``"unknown"``; results compose by name with false beating unknown beating true; a checker that raises yields
``unknown`` carrying the error (``check_safe``). Results are plain data (``to_dict``): the runner saves them
and the report can render them later without re-checking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Validity = bool | Literal["unknown"]
UNKNOWN: Literal["unknown"] = "unknown"


@dataclass(frozen=True)
class Result:
    """The verdict of one checker: ``valid`` plus a one-paragraph ``summary`` and JSON-able ``details``."""

    checker: str
    valid: Validity
    summary: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "checker": self.checker,
            "valid": self.valid,
            "summary": self.summary,
            "details": dict(self.details),
        }
        if self.error is not None:
            d["error"] = self.error
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Result:
        return cls(
            checker=str(d["checker"]),
            valid=d["valid"],
            summary=str(d.get("summary", "")),
            details=dict(d.get("details", {})),
            error=d.get("error"),
        )


def merge_validity(values: list[Validity]) -> Validity:
    """false beats unknown beats true; an empty list is true."""
    if any(v is False for v in values):
        return False
    if any(v == UNKNOWN for v in values):
        return UNKNOWN
    return True


@dataclass(frozen=True)
class Composite:
    """Results of several checkers run on one history, by name."""

    results: Mapping[str, Result]

    @property
    def valid(self) -> Validity:
        return merge_validity([r.valid for r in self.results.values()])

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "results": {k: r.to_dict() for k, r in self.results.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Composite:
        return cls({k: Result.from_dict(v) for k, v in d.get("results", {}).items()})


def check_safe(name: str, fn: Callable[[], Result]) -> Result:
    """Run one checker; an exception becomes an ``unknown`` result carrying the error, never a crash."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - a crashing checker must not lose the other verdicts
        import traceback  # only here: ``chaos check`` should not pay for it on every start

        return Result(
            checker=name,
            valid=UNKNOWN,
            summary=f"The checker {name} crashed, so this invariant was not decided: {type(e).__name__}: {e}",
            details={"traceback": traceback.format_exc(limit=8)},
            error=f"{type(e).__name__}: {e}",
        )


def compose(checks: Mapping[str, Callable[[], Result]]) -> Composite:
    """Run each named checker safely and gather the results."""
    return Composite({name: check_safe(name, fn) for name, fn in checks.items()})
