"""Experiment files: YAML -> a frozen, typed ``Experiment``, validated completely before anything runs.

Validation has two layers, both naming ``file:line``, the field path and what would be valid: the published
JSON Schema (``harness/schema/experiment.schema.json``: types, required fields, enums, ranges), then checks
that need the registries (the target exists and knows its planted bugs and node names; the workload, checkers
and fault kinds are registered; fault steps name real nodes, fit in the workload and do not collide). The
resulting ``Experiment`` is plain frozen data; ``to_data`` gives back a runnable file form (``chaos shrink``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from harness.errors import BadInput
from harness.evidence import Rules as EvidenceRules
from harness.faults.base import FaultContext
from harness.limits import MAX_EXPERIMENT_BYTES, MAX_SECONDS, decode_utf8, read_bounded
from harness.probes import SteadyState
from harness.registry import Registries
from harness.schema import YamlDoc, check_schema

STEP_KEYS = ("kind", "at", "duration")


def _frozen(d: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(d or {}))


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class TargetSpec:
    """``declaration``: the absolute path of a target declaration file, when the experiment names one."""

    name: str
    nodes: int = 3
    flags: frozenset[str] = frozenset()
    backend: str = "auto"
    options: Mapping[str, Any] = field(default_factory=_empty)
    declaration: str | None = None

    def resolve(self, registries: Registries) -> Any:
        """The target object: the declaration file, a registered target, or one on ``CHAOS_TARGET_PATH``."""
        from harness.declare.search import resolve_target

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
class FaultStep:
    """One explicit fault: ``params`` are the kind's own fields (everything but kind, at, duration)."""

    kind: str
    at: float
    duration: float
    params: Mapping[str, Any] = field(default_factory=_empty)

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": self.at, "duration": self.duration, **dict(self.params)}


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
    steps: tuple[FaultStep, ...] = ()
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

    @property
    def fault_context(self) -> FaultContext:
        return FaultContext(self.nodes, self.links)

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
            faults["steps"] = [s.to_data() for s in self.steps]
        if self.random is not None and "faults" in data and "random" in data["faults"]:
            faults["random"] = data["faults"]["random"]
        data.pop("faults", None)
        if faults:
            data["faults"] = faults
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_data(), sort_keys=False, default_flow_style=None)


def _thaw(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _thaw(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_thaw(x) for x in v]
    return v


def load(path: str | Path, registries: Registries | None = None, *, name: str | None = None) -> Experiment:
    """Read and validate an experiment file; every problem is a one-line ``BadInput`` naming file:line."""
    p = Path(path)
    raw = read_bounded(p, MAX_EXPERIMENT_BYTES, "experiment", "an experiment is a page of YAML")
    text = decode_utf8(raw, p, "an experiment is a YAML file")
    return loads(text, str(p), registries, default_name=name or p.stem)


def loads(
    text: str,
    file: str = "<experiment>",
    registries: Registries | None = None,
    *,
    default_name: str = "experiment",
) -> Experiment:
    """Validate experiment YAML text (``file`` is used in messages only)."""
    doc = YamlDoc.parse(text, file)
    check_schema(doc)
    from harness.experiment_checks import build  # the second layer needs these classes: import late

    return build(doc, registries or Registries(), default_name)


def with_overrides(
    exp: Experiment, *, seed: int | None = None, backend: str | None = None, duration: float | None = None
) -> Experiment:
    """The experiment with command-line overrides; a shorter ``duration`` clips (or drops) explicit steps."""
    if backend is not None and backend not in ("auto", "docker", "local"):
        raise BadInput(f"--backend {backend}: valid: auto, docker, local")
    out = exp
    if seed is not None:
        if seed < 0:
            raise BadInput(f"--seed {seed}: must be a non-negative integer")
        out = replace(out, seed=seed)
    if backend is not None:
        out = replace(out, target=replace(out.target, backend=backend))
    if duration is not None:
        ph = out.phases
        if (
            not math.isfinite(duration)
            or not 0 < duration <= MAX_SECONDS
            or (out.random is not None and duration <= ph.warmup + ph.cooldown)
        ):
            raise BadInput(
                f"--duration {duration:g}: must be a number of seconds > 0, at most {MAX_SECONDS}, and "
                f"longer than phases warmup + cooldown ({ph.warmup + ph.cooldown:g} s)"
            )
        steps = tuple(
            replace(s, duration=min(s.duration, duration - s.at)) for s in out.steps if s.at < duration
        )
        out = replace(out, workload=replace(out.workload, duration=float(duration)), steps=steps)
    return out
