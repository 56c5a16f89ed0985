"""Stored results read back into each checker's own details type.

Every result carries the name of the checker that wrote it (``Result.checker``); that name is the kind tag
that finds the checker's declaration (``harness.checkers.contract.Checker``: its ``details`` type and the
``required`` keys its details always hold), so no reader guesses a checker from the keys of its details and
no list of checkers is kept here. A result of a checker that is not registered (another machine's), one that
declares no type of its own (an old-style function), or one whose details do not fit its checker's type (a
checker that crashed: its details hold a traceback; a budget that ran out before any details existed) reads
as ``PlainDetails``: it renders as a verdict with no counterexample, as such results always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.checkers.base import Composite, Details, PlainDetails, Result
from harness.checkers.contract import Checkers


def details_type(checker: str, details: Mapping[str, Any], checkers: Checkers | None = None) -> type[Details]:
    """The type the details of a result written by ``checker`` are read as."""
    found = (checkers or Checkers()).find(checker)
    if found is None or not all(k in details for k in found.required):
        return PlainDetails
    return found.details


def read_result(d: Mapping[str, Any], checkers: Checkers | None = None) -> Result:
    """One stored result (``Result.to_dict()``), its details typed; details its checker's type cannot read
    (a plugin's type, given another version's details) stay plain."""
    raw = d.get("details")
    kind = details_type(str(d["checker"]), raw if isinstance(raw, Mapping) else {}, checkers)
    if kind is not PlainDetails:
        try:
            return Result.from_dict(d, kind)
        except Exception:  # noqa: BLE001 - a type that cannot read these details leaves them plain
            pass
    return Result.from_dict(d, PlainDetails)


def read_composite(d: Mapping[str, Any], checkers: Checkers | None = None) -> Composite:
    """Stored results by name (``Composite.to_dict()``), each with typed details."""
    checkers = checkers or Checkers()
    return Composite({str(k): read_result(v, checkers) for k, v in (d.get("results") or {}).items()})
