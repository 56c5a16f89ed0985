"""Checker results and their composition.

A checker is a pure function ``check(history, **options) -> Result``. ``valid`` is ``True``, ``False`` or
``"unknown"``; results compose by name with false beating unknown beating true; a checker that raises yields
``unknown`` carrying the error (``check_safe``). Results are plain data (``to_dict``): the runner saves them
and the report can render them later without re-checking.

``details`` is typed: each bundled checker module defines its own frozen ``Details`` subclass (for example
``harness.checkers.linearizable.LinearizableDetails``) with ``to_dict`` / ``from_dict`` keeping the JSON shape
results always had, and its report view imports that type and renders from its fields. A checker declares
its type (with its words, named ops and view) in its ``harness.checkers.contract.Checker``;
``harness.checkers.details`` reads stored results back into those types (by the ``checker`` written with each
result). A checker of a user's own may return a plain mapping: it is kept as ``PlainDetails``. Every
``Details`` also reads as a mapping of its JSON form (``details["failed_part"]``), as results did before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

Validity = bool | Literal["unknown"]
UNKNOWN: Literal["unknown"] = "unknown"


class Details(Mapping[str, Any]):
    """A checker's details: subclass as a frozen dataclass and define ``to_dict`` and ``from_dict``.

    Read-only mapping access goes to the JSON form, so code written against dict details keeps working.
    """

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Details:
        raise NotImplementedError

    @cached_property
    def _json(self) -> dict[str, Any]:
        return self.to_dict()

    def __getitem__(self, key: str) -> Any:
        return self._json[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._json)

    def __len__(self) -> int:
        return len(self._json)


@dataclass(frozen=True, eq=False)
class PlainDetails(Details):
    """Details of a checker that defines no type of its own (a user's checker, a crash's traceback)."""

    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PlainDetails:
        return cls(dict(d))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.data) == dict(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Result:
    """The verdict of one checker: ``valid`` plus a one-paragraph ``summary`` and typed ``details``
    (a plain mapping given here is kept as ``PlainDetails``)."""

    checker: str
    valid: Validity
    summary: str = ""
    details: Details = field(default_factory=PlainDetails)
    error: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.details, Details):
            object.__setattr__(self, "details", PlainDetails(dict(self.details)))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "checker": self.checker,
            "valid": self.valid,
            "summary": self.summary,
            "details": self.details.to_dict(),
        }
        if self.error is not None:
            d["error"] = self.error
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], details: type[Details] = PlainDetails) -> Result:
        """A stored result; ``details`` is the type its details are read as (see ``harness.checkers.details``
        for the bundled checkers' types)."""
        return cls(
            checker=str(d["checker"]),
            valid=d["valid"],
            summary=str(d.get("summary", "")),
            details=details.from_dict(d.get("details") or {}),
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
        """Results with plain details (``harness.checkers.details.read_composite`` types them)."""
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
            details=PlainDetails({"traceback": traceback.format_exc(limit=8)}),
            error=f"{type(e).__name__}: {e}",
        )


def compose(checks: Mapping[str, Callable[[], Result]]) -> Composite:
    """Run each named checker safely and gather the results."""
    return Composite({name: check_safe(name, fn) for name, fn in checks.items()})
