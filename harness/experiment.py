"""The experiment's types: a frozen, typed ``Experiment`` and the specs it is made of, as plain data.

``harness.loader`` makes one from a YAML file (validated completely before anything runs) and applies the
command line's overrides; the runner, the plan, the schedule and shrinking read it. An explicit fault step
is a ``FaultEvent`` (``harness.faults.event``), the same record a schedule holds. ``to_data`` gives back a
runnable file form (``chaos shrink``, the ``resolved`` experiment in ``run.json``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from harness.declare.search import resolve_target
from harness.evidence import Rules as EvidenceRules
from harness.faults.base import FaultContext
from harness.faults.event import FaultEvent
from harness.names import AUTO
from harness.probes import SteadyState
from harness.registry import Registries


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class TargetSpec:
    """``declaration``: the absolute path of a target declaration file, when the experiment names one."""

    name: str
    nodes: int = 3
    flags: frozenset[str] = frozenset()
    backend: str = AUTO
    options: Mapping[str, Any] = field(default_factory=_empty)
    declaration: str | None = None

    def resolve(self, registries: Registries) -> Any:
        """The target object: the declaration file, a registered target, or one on ``CHAOS_TARGET_PATH``."""
        return resolve_target(registries, self.name, self.declaration)


@dataclass(frozen=True)
class WorkloadSpec:
    kind: str
    duration: float
    concurrency: int = 4
    rate: float | None = None
    timeout: float = 1.0
    options: Mapping[str, Any] = field(default_factory=_empty)  # includes ``keys`` and the ``mix`` weights


@dataclass(frozen=True)
class RandomFaults:
    kinds: tuple[str, ...]
    interval: tuple[float, float] = (1.0, 3.0)
    duration: tuple[float, float] = (2.0, 5.0)
    max_faults: int | None = None
    params: Mapping[str, Any] = field(default_factory=_empty)  # shapes, mode, toxics


@dataclass(frozen=True)
class Phases:
    warmup: float = 1.0
    cooldown: float = 1.0
    recovery: float = 2.0
    final: bool = True
    ready_timeout: float = 30.0


@dataclass(frozen=True)
class CheckerSpec:
    name: str
    options: Mapping[str, Any] = field(default_factory=_empty)
    budget: float | None = None


@dataclass(frozen=True)
class Experiment:
    """A validated experiment. ``nodes`` / ``links`` are the target's topology for ``target.nodes``."""

    name: str
    expect: str
    target: TargetSpec
    workload: WorkloadSpec
    nodes: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    steps: tuple[FaultEvent, ...] = ()  # explicit steps, params as the file gave them
    random: RandomFaults | None = None
    phases: Phases = Phases()
    checkers: tuple[CheckerSpec, ...] = ()
    evidence: EvidenceRules = EvidenceRules()
    seed: int | None = None
    seeds: tuple[int, ...] = ()
    description: str = ""
    source: str | None = None
    data: Mapping[str, Any] = field(default_factory=_empty)
    steady_state: SteadyState | None = None  # probes before faults, and the abort condition (harness.probes)
    roles: tuple[str, ...] = ()  # role names a fault may select (harness.target.role_names)
    role_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()  # roles with fixed nodes (declared roles:)

    @property
    def fault_context(self) -> FaultContext:
        return FaultContext(self.nodes, self.links, self.roles, self.role_sets)

    @property
    def fault_window(self) -> tuple[float, float]:
        """Seconds since the workload started during which random faults may be active."""
        return (self.phases.warmup, max(self.phases.warmup, self.workload.duration - self.phases.cooldown))

    def to_data(self) -> dict[str, Any]:
        """The file form of this experiment (a runnable YAML when dumped)."""
        data = _thaw(self.data)
        data["name"] = self.name
        data.setdefault("target", {})["backend"] = self.target.backend
        if self.target.declaration is not None:  # absolute: the file form may be saved elsewhere (a bundle)
            data["target"]["declaration"] = self.target.declaration
        data["workload"]["duration"] = self.workload.duration
        if self.seed is not None:
            data["seed"] = self.seed
        faults: dict[str, Any] = {}
        if self.steps:
            faults["steps"] = [s.to_dict(exact=True) for s in self.steps]
        if self.random is not None and "faults" in data and "random" in data["faults"]:
            faults["random"] = data["faults"]["random"]
        data.pop("faults", None)
        if faults:
            data["faults"] = faults
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_data(), sort_keys=False, default_flow_style=None)


def run_seed(exp: Experiment, seed: int | None = None) -> int:
    """The seed a run of ``exp`` uses, decided here only: ``seed`` when given, else the experiment's own (the
    file's, or ``--seed`` put there by ``with_overrides``), else a fresh one (recorded in ``run.json``, so
    ``chaos replay`` repeats it)."""
    if seed is not None:
        return seed
    if exp.seed is not None:
        return exp.seed
    return random.SystemRandom().randrange(2**31)


def _thaw(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _thaw(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_thaw(x) for x in v]
    return v
