"""Named registries of targets, workloads, fault kinds and checkers, filled from entry points.

The bundled pieces are found exactly as a user's own are: through the entry-point groups
``chaos_harness.targets`` (a class constructed with no arguments), ``chaos_harness.workloads`` (a class
constructed with its options mapping), ``chaos_harness.faults`` (a class constructed with no arguments,
see ``harness.faults.base.FaultKind``) and ``chaos_harness.checkers`` (a
``harness.checkers.contract.Checker``, or a plain function ``check(history, **options) -> Result``).
``Registries`` bundles the four; tests pass explicit mappings instead of entry points. A name that is not
registered, or whose module cannot be imported, is a ``BadInput`` that lists the names that are available.
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
}


class Registry:
    """One group: name -> object, loaded lazily from entry points (or given explicitly)."""

    def __init__(self, kind: str, items: Mapping[str, Any] | None = None) -> None:
        self.kind = kind
        self._explicit = dict(items) if items is not None else None
        self._loaded: dict[str, Any] = {}

    def _entry_points(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group=GROUPS[self.kind])}

    def names(self) -> list[str]:
        if self._explicit is not None:
            return sorted(self._explicit)
        return sorted(self._entry_points())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def get(self, name: str) -> Any:
        """The registered object; ``BadInput`` naming the valid names when ``name`` is unknown or broken."""
        if self._explicit is not None:
            if name not in self._explicit:
                raise BadInput(self._unknown(name))
            return self._explicit[name]
        if name in self._loaded:
            return self._loaded[name]
        eps = self._entry_points()
        if name not in eps:
            raise BadInput(self._unknown(name))
        try:
            obj = eps[name].load()
        except Exception as e:  # noqa: BLE001 - a broken plugin is reported as one line, not a traceback
            raise BadInput(
                f"{self.kind[:-1]} {name!r} is registered ({eps[name].value}) but cannot be loaded: "
                f"{type(e).__name__}: {e}"
            ) from None
        self._loaded[name] = obj
        return obj

    def _unknown(self, name: str) -> str:
        names = ", ".join(self.names()) or "(none registered)"
        return f"unknown {self.kind[:-1]} {name!r}; registered: {names}"


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
