"""Stored results read back into each checker's own details type.

Every result carries the name of the checker that wrote it (``Result.checker``: ``linearizable``,
``exactly-once``, ``lock-safety``, ``availability``, ``list-append``, ``rw-register``); that name is the kind
tag that picks the details type here, once, so no reader guesses a checker from the keys of its details. A
result of any other checker (a user's own), or one whose details do not fit its checker's type (a checker that
crashed: its details hold a traceback; a budget that ran out before any details existed) reads as
``PlainDetails``: it renders as a verdict with no counterexample, as such results always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from harness.checkers import availability, exactly_once, linearizable, lock_safety
from harness.checkers.base import Composite, Details, PlainDetails, Result
from harness.checkers.txn import check as txn

TYPES: Mapping[str, type[Details]] = MappingProxyType(
    {
        linearizable.NAME: linearizable.LinearizableDetails,
        exactly_once.NAME: exactly_once.ExactlyOnceDetails,
        lock_safety.NAME: lock_safety.LockSafetyDetails,
        availability.NAME: availability.AvailabilityDetails,
        "list-append": txn.TxnDetails,
        "rw-register": txn.TxnDetails,
    }
)

# The keys a checker's details always hold when it wrote them: details without them are not of its type.
_REQUIRED: Mapping[type[Details], tuple[str, ...]] = MappingProxyType(
    {
        linearizable.LinearizableDetails: ("model", "failed_part"),
        exactly_once.ExactlyOnceDetails: ("counts",),
        lock_safety.LockSafetyDetails: ("overlaps", "grants"),
        availability.AvailabilityDetails: ("thresholds", "breaches"),
        txn.TxnDetails: ("consistency_model", "anomalies"),
    }
)


def details_type(checker: str, details: Mapping[str, Any]) -> type[Details]:
    """The type the details of a result written by ``checker`` are read as."""
    kind = TYPES.get(checker)
    if kind is None or not all(k in details for k in _REQUIRED[kind]):
        return PlainDetails
    return kind


def read_result(d: Mapping[str, Any]) -> Result:
    """One stored result (``Result.to_dict()``), its details typed."""
    raw = d.get("details")
    kind = details_type(str(d["checker"]), raw if isinstance(raw, Mapping) else {})
    return Result.from_dict(d, kind)


def read_composite(d: Mapping[str, Any]) -> Composite:
    """Stored results by name (``Composite.to_dict()``), each with typed details."""
    return Composite({str(k): read_result(v) for k, v in (d.get("results") or {}).items()})
