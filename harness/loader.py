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
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.cluster.backends import backend_choices, check_backend
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
from harness.faults.base import FaultContext, ParamError, check_among, random_spec
from harness.faults.event import EVENT_KEYS, FaultEvent
from harness.faults.roles import check_targets
from harness.limits import (
    MAX_EXPERIMENT_BYTES,
    MAX_SECONDS,
    NAME,
    NAME_RULE,
    check_seed,
    decode_utf8,
    read_bounded,
)
from harness.names import AUTO
from harness.probes import parse as parse_steady_state
from harness.registry import Registries
from harness.schema import FieldPath, YamlDoc, check_schema, field_name, load_schema
from harness.schema.faults import RANDOM_OWN, live_schema
from harness.target import (
    ClientContext,
    Target,
    Topology,
    make_workload,
    role_names,
    static_roles,
    target_traits,
)


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
    if backend is not None:
        check_backend(backend, "--backend")
    out = exp
    if seed is not None:
        out = replace(out, seed=check_seed(seed, "--seed"))
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
        target = replace(target, nodes=int(target_traits(target_obj).default_nodes or target.nodes))
    try:
        topo = target_topology(target_obj, target.nodes, target.options)
    except ParamError as e:
        raise doc.error(("target", *e.field), e.message) from None
    wl_options = dict(w.get("options") or {})
    if "keys" in w:
        wl_options["keys"] = w["keys"]
    wl_options.update(w.get("mix") or {})  # the mix is the workload's operation weights, e.g. read: 2
    workload = WorkloadSpec(
        kind=w.get("kind", target_traits(target_obj).default_workload or target.name),
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
        roles=role_names(target_obj, topo.nodes),
        role_sets=tuple(static_roles(target_obj, topo.nodes).items()),
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


def known_flags(target: Target) -> frozenset[str]:
    """Planted bugs a target declares (``planted_bugs``); empty: unchecked."""
    return frozenset(target.planted_bugs or ())


def target_flags(obj: Any, name: str, mode: str, flags: Sequence[str]) -> frozenset[str]:
    """The planted bugs switched on by ``mode`` (``correct`` or one bug's name) and ``flags``, each checked
    against the bugs the target declares; ``ParamError`` names the field (``mode``, ``flags.<i>``).

    One check for experiment files (``build``) and the pytest fixtures (``chaos_cluster``)."""
    known = known_flags(obj)
    out = set(flags)
    if mode != "correct":
        if known and mode not in known:
            raise ParamError(("mode",), f"unknown mode {mode!r}; valid: correct, {', '.join(sorted(known))}")
        out.add(mode)
    for i, f in enumerate(flags):
        if known and f not in known:
            raise ParamError(
                ("flags", i),
                f"unknown planted bug {f!r} for target {name}; valid: {', '.join(sorted(known))}",
            )
    return frozenset(out)


def node_bounds() -> tuple[int, int]:
    """How many nodes an experiment may run (the published schema's ``target.nodes`` range)."""
    nodes = load_schema()["$defs"]["target"]["properties"]["nodes"]
    return int(nodes["minimum"]), int(nodes["maximum"])


def target_topology(obj: Any, nodes: int, options: Mapping[str, Any]) -> Topology:
    """The target's topology for ``nodes`` and ``options``: the node count within the schema's range, then the
    target's own objections, as ``ParamError`` naming the field (``nodes``, ``options``)."""
    low, high = node_bounds()
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not low <= nodes <= high:
        raise ParamError(("nodes",), f"expected a whole number of nodes from {low} to {high}, got {nodes!r}")
    try:
        return obj.topology(nodes, dict(options))
    except BadInput as e:
        raise ParamError((), str(e)) from None
    except Exception as e:  # noqa: BLE001 - the target's own objection to its options, as one line
        raise ParamError(("options",), f"the target rejects these settings: {e}") from None


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
    try:
        flags = target_flags(obj, name, t.get("mode", "correct"), t.get("flags") or ())
    except ParamError as e:
        raise doc.error(("target", *e.field), e.message) from None
    backend = t.get("backend", AUTO)
    if backend not in backend_choices():
        raise doc.error(
            ("target", "backend"),
            f"unknown backend {backend!r}; valid backends: {', '.join(backend_choices())}",
        )
    spec = TargetSpec(
        name=name,
        nodes=int(t.get("nodes", 3)),
        flags=flags,
        backend=backend,
        options=_frozen(t.get("options")),
        declaration=decl,
    )
    return spec, obj


def workload_of(
    reg: Registries, kind: str, options: Mapping[str, Any], context: ClientContext | None = None
) -> Any:
    """The registered workload ``kind`` made with ``options`` (and ``context`` when given and accepted);
    ``ParamError`` names the field (``kind``: not registered; ``options``: the workload rejects them).

    One check for experiment files (``build``) and the run interpreter (``harness.runtime.interpreter``)."""
    if kind not in reg.workloads:
        registered = ", ".join(reg.workloads.names())
        raise ParamError(("kind",), f"unknown workload {kind!r}; registered: {registered}")
    try:
        cls = reg.workloads.get(kind)
    except BadInput as e:
        raise ParamError(("kind",), str(e)) from None
    try:
        return make_workload(cls, options, context) if context is not None else cls(dict(options))
    except Exception as e:  # noqa: BLE001 - the workload's own objection to its options, as one line
        raise ParamError(("options",), f"workload {kind} rejects its options: {e}") from None


def _workload(doc: YamlDoc, reg: Registries, w: WorkloadSpec, explicit: bool) -> Any:
    try:
        return workload_of(reg, w.kind, w.options)
    except ParamError as e:
        if e.field == ("options",):
            raise doc.error(("workload",), e.message, key=True) from None
        raise doc.error(("workload", "kind") if explicit else ("target", "name"), e.message) from None


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


def check_step(reg: Registries, event: FaultEvent, ctx: FaultContext, workload_s: float) -> None:
    """One fault step's checks: its params valid for its kind on this cluster, and its end within the
    workload; ``ParamError`` names the field inside the step. Experiment files (``build``) and the pytest
    fixtures' schedules (``chaos_play``) both go through it."""
    reg.fault(event.kind).validate(dict(event.params), ctx)
    if event.end > workload_s:
        raise ParamError(
            ("duration",),
            f"the fault ends at {event.end:g} s, after the workload "
            f"(workload.duration {workload_s:g} s); at + duration must be <= it",
        )


def _step(doc: YamlDoc, reg: Registries, exp: Experiment, i: int, s: Mapping[str, Any]) -> FaultEvent:
    base: tuple[str | int, ...] = ("faults", "steps", i)
    _fault_kind(doc, reg, s["kind"], (*base, "kind"))
    params = {k: v for k, v in s.items() if k not in EVENT_KEYS}
    event = FaultEvent(s["kind"], float(s["at"]), float(s["duration"]), _frozen(params))
    try:
        check_step(reg, event, exp.fault_context, exp.workload.duration)
    except ParamError as e:
        raise doc.error((*base, *e.field), e.message) from None
    return event


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
    try:
        check_among(r, exp.fault_context)
        check_targets(r.get("targets") or (), exp.fault_context)
    except ParamError as e:
        raise doc.error((*base, *e.field), e.message) from None
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
