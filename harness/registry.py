"""Named registries of targets, workloads, fault kinds and checkers, filled from entry points.

The bundled pieces are found exactly as a user's own are: through the entry-point groups
``chaos_harness.targets`` (a class constructed with no arguments), ``chaos_harness.workloads`` (a class
constructed with its options mapping), ``chaos_harness.faults`` (a class constructed with no arguments,
see ``harness.faults.base.FaultKind``) and ``chaos_harness.checkers`` (a
``harness.checkers.contract.Checker``, or a plain function ``check(history, **options) -> Result``);
``chaos_harness.backends`` (a cluster backend class, see ``harness.cluster.backends``) is read the same way.
``Registries`` bundles the four a run needs; tests pass explicit mappings instead of entry points. A name
that is not registered, or whose module cannot be imported, is a ``BadInput`` that lists the names that are
available. Two installed distributions registering one name in one group are never resolved silently:
``get`` refuses with a line naming both, and ``DIST:NAME`` (e.g. ``chaos-harness:redis``) names the one
meant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from harness.errors import BadInput

GROUPS = {
    "targets": "chaos_harness.targets",
    "workloads": "chaos_harness.workloads",
    "faults": "chaos_harness.faults",
    "checkers": "chaos_harness.checkers",
    "backends": "chaos_harness.backends",
}


class Registry:
    """One group: name -> object, loaded lazily from entry points (or given explicitly)."""

    def __init__(self, kind: str, items: Mapping[str, Any] | None = None) -> None:
        self.kind = kind
        self._explicit = dict(items) if items is not None else None
        self._loaded: dict[str, Any] = {}

    def _claims(self) -> dict[str, list[Any]]:
        """Name -> every entry point registering it (one per distribution)."""
        out: dict[str, list[Any]] = {}
        for ep in entry_points(group=GROUPS[self.kind]):
            claims = out.setdefault(ep.name, [])
            if all(_dist(c) != _dist(ep) for c in claims):
                claims.append(ep)
        return out

    def _entry_points(self) -> dict[str, Any]:
        return {name: claims[0] for name, claims in self._claims().items()}

    def conflicts(self) -> dict[str, list[str]]:
        """Names two or more distributions register: name -> ``dist (module:attr)`` of each."""
        if self._explicit is not None:
            return {}
        return {
            name: [f"{_dist(ep)} ({ep.value})" for ep in claims]
            for name, claims in self._claims().items()
            if len(claims) > 1
        }

    def _pick(self, name: str) -> Any:
        """The one entry point ``name`` (or ``DIST:NAME``) means; ``BadInput`` when none or ambiguous."""
        dist, _, bare = name.rpartition(":")
        if dist:
            claims = [ep for ep in self._claims().get(bare, []) if _norm(_dist(ep)) == _norm(dist)]
        else:
            eps = self._entry_points()
            claims = self._claims().get(bare, [eps[bare]]) if bare in eps else []
        if not claims:
            raise BadInput(self._unknown(name))
        if len(claims) > 1:
            both = " and ".join(f"{_dist(ep)} ({ep.value})" for ep in claims)
            raise BadInput(
                f"{self.kind[:-1]} {bare!r} is registered by two distributions: {both}; name one as "
                f"DIST:NAME (e.g. {_dist(claims[0])}:{bare}) or uninstall the other"
            )
        return claims[0]

    def names(self) -> list[str]:
        if self._explicit is not None:
            return sorted(self._explicit)
        return sorted(self._entry_points())

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if self._explicit is None and ":" in name:
            dist, _, bare = name.rpartition(":")
            return any(_norm(_dist(ep)) == _norm(dist) for ep in self._claims().get(bare, []))
        return name in self.names()

    def get(self, name: str) -> Any:
        """The registered object; ``BadInput`` naming the valid names when ``name`` is unknown or broken."""
        if self._explicit is not None:
            if name not in self._explicit:
                raise BadInput(self._unknown(name))
            return self._explicit[name]
        if name in self._loaded:
            return self._loaded[name]
        ep = self._pick(name)
        try:
            obj = ep.load()
        except Exception as e:  # noqa: BLE001 - a broken plugin is reported as one line, not a traceback
            raise BadInput(
                f"{self.kind[:-1]} {name!r} is registered ({ep.value}) but cannot be loaded: "
                f"{type(e).__name__}: {e}"
            ) from None
        self._loaded[name] = obj
        return obj

    def _unknown(self, name: str) -> str:
        names = ", ".join(self.names()) or "(none registered)"
        return f"unknown {self.kind[:-1]} {name!r}; registered: {names}"


def _dist(ep: Any) -> str:
    """The name of the distribution that registers ``ep`` (``?`` when the metadata does not say)."""
    dist = getattr(ep, "dist", None)
    return str(getattr(dist, "name", None) or "?")


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@dataclass
class Registries:
    """The four registries a run needs; defaults read the installed entry points."""

    targets: Registry = field(default_factory=lambda: Registry("targets"))
    workloads: Registry = field(default_factory=lambda: Registry("workloads"))
    faults: Registry = field(default_factory=lambda: Registry("faults"))
    checkers: Registry = field(default_factory=lambda: Registry("checkers"))

    @classmethod
    def of(
        cls,
        *,
        targets: Mapping[str, Any] | None = None,
        workloads: Mapping[str, Any] | None = None,
        faults: Mapping[str, Any] | None = None,
        checkers: Mapping[str, Any] | None = None,
    ) -> Registries:
        """Registries from explicit mappings; a group left ``None`` reads its entry points."""
        return cls(
            Registry("targets", targets),
            Registry("workloads", workloads),
            Registry("faults", faults),
            Registry("checkers", checkers),
        )

    def target(self, name: str) -> Any:
        """A fresh target instance."""
        return self.targets.get(name)()

    def fault(self, name: str) -> Any:
        return self.faults.get(name)()
