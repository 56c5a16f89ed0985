"""Experiment files in: ``load`` / ``loads`` (YAML -> a validated ``Experiment``), ``build``, and overrides.

Validation has two layers, both naming ``file:line``, the field path and what would be valid: the published
JSON Schema (``harness/schema/experiment.schema.json``: types, required fields, enums, ranges), then
``build``, the checks that need the registries (the target exists, knows the planted bugs asked for and
accepts its options, its topology naming the nodes; the workload, checkers and fault kinds are registered and
accept their options; every fault step names real nodes, ends within the workload and does not collide with
another; a random schedule fits in its window). Every problem is a one-line ``BadInput``. The result is the
plain frozen data of ``harness.experiment``; ``with_overrides`` applies ``--seed`` / ``--backend`` /
``--duration``.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.declare.search import resolve_target
from harness.errors import BadInput
from harness.evidence import Rules as EvidenceRules
from harness.experiment import (
    CheckerSpec,
    Experiment,
    Phases,
    RandomFaults,
    TargetSpec,
    WorkloadSpec,
)
from harness.faults.base import FaultContext, ParamError, random_spec
from harness.faults.event import EVENT_KEYS, FaultEvent
from harness.limits import MAX_EXPERIMENT_BYTES, MAX_SECONDS, NAME, NAME_RULE, decode_utf8, read_bounded
from harness.names import AUTO, BACKEND_CHOICES
from harness.probes import parse as parse_steady_state
from harness.registry import Registries
from harness.schema import FieldPath, YamlDoc, check_schema, field_name
from harness.schema.faults import RANDOM_OWN, live_schema


def _frozen(d: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(d or {}))


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
    reg = registries or Registries()
    check_schema(doc, live_schema(reg.faults))
    return build(doc, reg, default_name)


def with_overrides(
    exp: Experiment, *, seed: int | None = None, backend: str | None = None, duration: float | None = None
) -> Experiment:
    """The experiment with command-line overrides; a shorter ``duration`` clips (or drops) explicit steps."""
    if backend is not None and backend not in BACKEND_CHOICES:
        raise BadInput(f"--backend {backend}: valid: {', '.join(BACKEND_CHOICES)}")
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


def _range(v: Any, default: tuple[float, float]) -> tuple[float, float]:
    if v is None:
        return default
    if isinstance(v, (int, float)):
        return (float(v), float(v))
    return (float(v[0]), float(v[1]))


def build(doc: YamlDoc, reg: Registries, default_name: str) -> Experiment:
    """The second validation layer, after the schema has passed: the ``Experiment`` the file describes."""
    d: dict[str, Any] = doc.data
    t, w = d["target"], d["workload"]
    target, target_obj = _target(doc, reg, t)
    if "nodes" not in t:  # a declared target says how many nodes it runs by default
        target = replace(target, nodes=int(getattr(target_obj, "default_nodes", target.nodes)))
    try:
        topo = target_obj.topology(target.nodes, dict(target.options))
    except BadInput as e:
        raise doc.error(("target",), str(e)) from None
    except Exception as e:  # noqa: BLE001 - the target's own objection to its options, as one line
        raise doc.error(("target", "options"), f"the target rejects these settings: {e}") from None
    wl_options = dict(w.get("options") or {})
    if "keys" in w:
        wl_options["keys"] = w["keys"]
    wl_options.update(w.get("mix") or {})  # the mix is the workload's operation weights, e.g. read: 2
    workload = WorkloadSpec(
        kind=w.get("kind", getattr(target_obj, "default_workload", None) or target.name),
        duration=float(w["duration"]),
        concurrency=int(w.get("concurrency", 4)),
        rate=w.get("rate"),
        timeout=float(w.get("timeout", 1.0)),
        options=_frozen(wl_options),
    )
    wl_obj = _workload(doc, reg, workload, "kind" in w)
    p = d.get("phases") or {}
    phases = Phases(
        **{k: p[k] for k in ("warmup", "cooldown", "recovery", "final", "ready_timeout") if k in p}
    )
    if phases.warmup + phases.cooldown >= workload.duration and "phases" in d:
        raise doc.error(
            ("phases",),
            f"warmup + cooldown ({phases.warmup + phases.cooldown:g} s) must be shorter "
            f"than workload.duration ({workload.duration:g} s)",
        )
    checkers = _checkers(doc, reg, d.get("checkers"), wl_obj)
    if "name" not in d and not NAME.fullmatch(default_name):
        raise BadInput(
            f"{doc.file}:1: name: the default, {default_name!r} (from the file name), cannot name the "
            f"bundle directory; add a name: field ({NAME_RULE})"
        )
    exp = Experiment(
        name=d.get("name", default_name),
        expect=d["expect"],
        target=target,
        workload=workload,
        nodes=tuple(topo.nodes),
        links=FaultContext.of(topo).links,
        phases=phases,
        checkers=checkers,
        evidence=_evidence(d.get("evidence")),
        seed=d.get("seed"),
        seeds=tuple(d.get("seeds") or ()),
        description=d.get("description", ""),
        source=doc.file,
        data=_frozen(d),
        steady_state=parse_steady_state(d.get("steady_state"), tuple(topo.nodes), doc.error),
    )
    faults = d.get("faults") or {}
    steps = tuple(_step(doc, reg, exp, i, s) for i, s in enumerate(faults.get("steps") or []))
    _check_overlaps(doc, reg, exp, steps)
    rnd = _random(doc, reg, exp, faults.get("random"))
    return replace(exp, steps=steps, random=rnd)


def _evidence(e: Mapping[str, Any] | None) -> EvidenceRules:
    """The ``evidence:`` block (the schema checked its types); absent fields keep their defaults."""
    e = e or {}
    default = EvidenceRules()
    return EvidenceRules(
        min_ok=int(e.get("min_ok", default.min_ok)),
        optional=frozenset(e.get("optional") or ()),
        final=bool(e.get("final", default.final)),
    )


def known_flags(target: Any) -> frozenset[str]:
    """Planted bugs a target declares (``planted_bugs``); empty: unchecked."""
    for attr in ("planted_bugs",):
        value = getattr(target, attr, None)
        if value:
            return frozenset(value)
    return frozenset()


def _declaration_path(doc: YamlDoc, given: str) -> str:
    p = Path(given)
    if not p.is_absolute() and doc.file and Path(doc.file).exists():
        p = Path(os.path.normpath(Path(doc.file).resolve().parent / p))
    return str(p)


def _target(doc: YamlDoc, reg: Registries, t: Mapping[str, Any]) -> tuple[TargetSpec, Any]:
    if "name" not in t and "declaration" not in t:
        raise doc.error(
            ("target",),
            "give name (a registered or declared target, e.g. kv, etcd) or declaration (a target.yaml path)",
        )
    decl = _declaration_path(doc, t["declaration"]) if "declaration" in t else None
    path: FieldPath = ("target", "declaration") if decl else ("target", "name")
    try:
        obj = resolve_target(reg, t.get("name"), decl)
    except BadInput as e:
        raise doc.error(path, str(e)) from None
    if decl is not None and "name" in t and t["name"] != obj.name:
        raise doc.error(("target", "name"), f"the declaration {t['declaration']} declares {obj.name!r}")
    name = str(t.get("name", obj.name))
    known = known_flags(obj)
    flags = set(t.get("flags") or [])
    mode = t.get("mode", "correct")
    if mode != "correct":
        if known and mode not in known:
            raise doc.error(
                ("target", "mode"), f"unknown mode {mode!r}; valid: correct, {', '.join(sorted(known))}"
            )
        flags.add(mode)
    for i, f in enumerate(t.get("flags") or []):
        if known and f not in known:
            raise doc.error(
                ("target", "flags", i),
                f"unknown planted bug {f!r} for target {name}; valid: {', '.join(sorted(known))}",
            )
    spec = TargetSpec(
        name=name,
        nodes=int(t.get("nodes", 3)),
        flags=frozenset(flags),
        backend=t.get("backend", AUTO),
        options=_frozen(t.get("options")),
        declaration=decl,
    )
    return spec, obj


def _workload(doc: YamlDoc, reg: Registries, w: WorkloadSpec, explicit: bool) -> Any:
    path: FieldPath = ("workload", "kind") if explicit else ("target", "name")
    if w.kind not in reg.workloads:
        raise doc.error(path, f"unknown workload {w.kind!r}; registered: {', '.join(reg.workloads.names())}")
    try:
        cls = reg.workloads.get(w.kind)
    except BadInput as e:
        raise doc.error(path, str(e)) from None
    try:
        return cls(dict(w.options))
    except Exception as e:  # noqa: BLE001 - the workload's own objection to its options, as one line
        raise doc.error(("workload",), f"workload {w.kind} rejects its options: {e}", key=True) from None


def _checkers(
    doc: YamlDoc, reg: Registries, given: Mapping[str, Any] | None, wl: Any
) -> tuple[CheckerSpec, ...]:
    items = given if given is not None else dict(wl.checkers())
    out = []
    for name, opts in items.items():
        path: FieldPath = ("checkers", name) if given is not None else ("workload",)
        if name not in reg.checkers:
            raise doc.error(
                path, f"unknown checker {name!r}; registered: {', '.join(reg.checkers.names())}", key=True
            )
        opts = dict(opts or {})
        budget = opts.pop("budget", None)
        out.append(CheckerSpec(name, _frozen(opts), budget))
    if not out:
        raise doc.error(("checkers",), "no checkers; name at least one, e.g. linearizable: {budget: 30}")
    return tuple(out)


def _fault_kind(doc: YamlDoc, reg: Registries, name: str, path: FieldPath) -> Any:
    if name not in reg.faults:
        raise doc.error(path, f"unknown fault kind {name!r}; registered: {', '.join(reg.faults.names())}")
    try:
        return reg.fault(name)
    except BadInput as e:
        raise doc.error(path, str(e)) from None


def _step(doc: YamlDoc, reg: Registries, exp: Experiment, i: int, s: Mapping[str, Any]) -> FaultEvent:
    base: tuple[str | int, ...] = ("faults", "steps", i)
    kind = _fault_kind(doc, reg, s["kind"], (*base, "kind"))
    params = {k: v for k, v in s.items() if k not in EVENT_KEYS}
    try:
        kind.validate(params, exp.fault_context)
    except ParamError as e:
        raise doc.error((*base, *e.field), e.message) from None
    end = s["at"] + s["duration"]
    if end > exp.workload.duration:
        raise doc.error(
            (*base, "duration"),
            f"the fault ends at {end:g} s, after the workload "
            f"(workload.duration {exp.workload.duration:g} s); at + duration must be <= it",
        )
    return FaultEvent(s["kind"], float(s["at"]), float(s["duration"]), _frozen(params))


def _check_overlaps(doc: YamlDoc, reg: Registries, exp: Experiment, steps: tuple[FaultEvent, ...]) -> None:
    """Network faults share one network state, process faults one node: neither may overlap in time."""
    ctx = exp.fault_context
    for j, b in enumerate(steps):
        kb = reg.fault(b.kind)
        for i, a in enumerate(steps[:j]):
            if not (a.at < b.at + b.duration and b.at < a.at + a.duration):
                continue
            ka = reg.fault(a.kind)
            if ka.network and kb.network:
                why = "two network faults (partition, link) cannot be active at once"
            elif not ka.network and not kb.network and ka.nodes(a.params, ctx) & kb.nodes(b.params, ctx):
                why = "two process faults on the same node cannot be active at once"
            else:
                continue
            raise doc.error(
                ("faults", "steps", j, "at"),
                f"overlaps steps[{i}] ({a.kind} from {a.at:g} s to {a.at + a.duration:g} s); {why}",
            )


def _random(
    doc: YamlDoc, reg: Registries, exp: Experiment, r: Mapping[str, Any] | None
) -> RandomFaults | None:
    if r is None:
        return None
    base = ("faults", "random")
    for i, k in enumerate(r["kinds"]):
        _fault_kind(doc, reg, k, (*base, "kinds", i))
    for key in ("interval", "duration"):
        v = r.get(key)
        if isinstance(v, list) and v[0] > v[1]:
            raise doc.error(
                (*base, key), f"[min, max] with min {v[0]:g} > max {v[1]:g}; write [{v[1]:g}, {v[0]:g}]"
            )
    for i, n in enumerate(r.get("among") or []):
        if n not in exp.nodes:
            raise doc.error((*base, "among", i), f"unknown node {n!r}; valid: {', '.join(exp.nodes)}")
    params = {k: v for k, v in r.items() if k not in RANDOM_OWN}  # the kinds' own keys (shapes, toxics, ...)
    rnd = RandomFaults(
        tuple(r["kinds"]),
        _range(r.get("interval"), (1.0, 3.0)),
        _range(r.get("duration"), (2.0, 5.0)),
        r.get("max_faults"),
        _frozen(params),
    )
    start, end = exp.fault_window
    if end - start < rnd.duration[0]:
        raise doc.error(
            base,
            f"the fault window (warmup {start:g} s to duration - cooldown {end:g} s) is shorter "
            f"than the shortest fault ({rnd.duration[0]:g} s); lengthen workload.duration",
        )
    rng = random.Random(0)
    for k in rnd.kinds:  # a trial draw: every kind must be able to pick valid params on this cluster
        kind = reg.fault(k)
        try:
            spec = random_spec(kind, params)
            kind.validate(kind.random_params(rng, exp.fault_context, spec), exp.fault_context)
        except ParamError as e:
            raise doc.error(base, f"kind {k}: {field_name(e.field)}: {e.message}") from None
        except BadInput as e:
            raise doc.error(base, f"kind {k}: {e}") from None
    return rnd
