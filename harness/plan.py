"""The resolved plan of a run, computed without starting anything (``chaos run --dry-run``).

From a validated ``Experiment`` and a seed: the backend (``auto`` resolved by asking whether an engine
answers), the target (declared or Python), and per node what would run -- its role, image, named ports, the
command and environment after templating, its readiness check -- plus the workload, the checkers and the exact
fault schedule the seed gives. Node addresses are the ones the backend would give: on ``docker`` the node's
name and the declared ports (exact); on ``local`` the ports are only examples, since free ports are
allocated when the run starts. ``format_plan`` renders it as text; nothing here has side effects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.cluster.backends import backend_class, resolve_backend
from harness.cluster.base import Placement, placement_of
from harness.errors import BadInput
from harness.experiment import Experiment
from harness.registry import Registries
from harness.schedule import Schedule, generate
from harness.target import Addr, ImageBuild, NodeContext, NodeSpec, Readiness, target_ports, target_traits

LOCAL_EXAMPLE_PORT = 20000  # local ports are allocated at run time; the plan numbers them from here


@dataclass(frozen=True)
class NodePlan:
    node: str
    role: str | None
    image: str
    ports: Mapping[str, int]
    argv: tuple[str, ...]
    env: Mapping[str, str]
    ready: str
    launch: Mapping[str, Any] | None = None  # a declared node's files and start rules (``launch_plan``)


@dataclass(frozen=True)
class Plan:
    experiment: Experiment
    seed: int
    backend: str
    target: str
    declaration: str | None
    nodes: tuple[NodePlan, ...]
    schedule: Schedule
    placement: Placement = Placement()


def _contexts(
    exp: Experiment, ports: Mapping[str, int], backend: str, placed: Placement
) -> dict[str, NodeContext]:
    nodes, first, root = exp.nodes, next(iter(ports)), placed.data_root
    if placed.own_hosts:
        own = {n: dict(ports) for n in nodes}
        reach = {(a, b): {p: Addr(b, port) for p, port in ports.items()} for a in nodes for b in nodes}
        host, bind = dict(zip(nodes, nodes, strict=True)), "0.0.0.0"
    else:
        counter = iter(range(LOCAL_EXAMPLE_PORT, LOCAL_EXAMPLE_PORT + 10000))
        own = {n: {p: next(counter) for p in ports} for n in nodes}
        reach = {(a, b): {p: Addr("127.0.0.1", next(counter)) for p in ports} for a in nodes for b in nodes}
        host, bind = {n: "127.0.0.1" for n in nodes}, "127.0.0.1"
    out = {}
    for n in nodes:
        peer_addrs = {m: reach[(n, m)] for m in nodes if m != n}
        out[n] = NodeContext(
            node=n,
            nodes=nodes,
            listen=Addr(bind, own[n][first]),
            peers={m: a[first] for m, a in peer_addrs.items()},
            data_dir=f"{root}/{n}",
            flags=exp.target.flags,
            options=dict(exp.target.options),
            host=host[n],
            ports=own[n],
            peer_addrs=peer_addrs,
            backend=backend,
        )
    return out


def _image(spec: NodeSpec, placed: Placement) -> str:
    if not placed.images:
        return "(none: a local process)"
    if spec.image is None:
        return "the bundled target image"
    if isinstance(spec.image, ImageBuild):
        return f"built from the base image + Debian packages: {' '.join(spec.image.packages)}"
    return spec.image


def _ready(r: Readiness | None, first: str) -> str:
    if r is None:
        return f"tcp: port {first} accepts connections"
    if r.kind == "tcp":
        return f"tcp: port {r.port} accepts connections"
    if r.kind == "http":
        return f"http: GET :{r.port}{r.path} answers {r.status}"
    if r.kind == "running":
        return "running: its process runs (it serves no port)"
    return f"command exits 0: {' '.join(_quote(a) for a in r.argv)}"


def resolve_plan(exp: Experiment, seed: int, registries: Registries | None = None) -> Plan:
    """The plan (see the module docstring); ``BadInput`` when a node's spec cannot be resolved."""
    reg = registries or Registries()
    target = exp.target.resolve(reg)
    backend = resolve_backend(exp.target.backend)
    placed = placement_of(backend_class(backend))
    try:
        ports = target_ports(target)
    except ValueError as e:
        raise BadInput(f"target {exp.target.name}: {e}") from None
    roles: dict[str, str] = {}
    traits = target_traits(target)
    for role, members in traits.roles_for(exp.nodes).items():
        roles.update({n: role for n in members})
    nodes = []
    for n, ctx in _contexts(exp, ports, backend, placed).items():
        spec = target.node_spec(ctx)
        launch = target.launch_plan(ctx) if hasattr(target, "launch_plan") else None
        nodes.append(
            NodePlan(
                node=n,
                role=roles.get(n),
                image=_image(spec, placed),
                ports=dict(ctx.ports),
                argv=tuple(spec.argv),
                env=dict(spec.env),
                ready=_ready(spec.ready, next(iter(ports))),
                launch=launch,
            )
        )
    schedule = generate(exp, seed, reg)
    return Plan(exp, seed, backend, exp.target.name, traits.declaration, tuple(nodes), schedule, placed)


def _event(e: Any) -> str:
    params = ", ".join(f"{k}={v}" for k, v in e.params.items())
    return f"  {e.at:7.2f} s .. {e.end:7.2f} s  {e.kind}" + (f" ({params})" if params else "")


def format_plan(plan: Plan) -> str:
    exp, w = plan.experiment, plan.experiment.workload
    flags = ", ".join(sorted(exp.target.flags)) or "none"
    lines = [
        f"experiment {exp.name} ({exp.source}): expect {exp.expect}, seed {plan.seed}",
        f"target {plan.target}"
        + (f" (declared in {plan.declaration})" if plan.declaration else "")
        + f": {len(exp.nodes)} nodes on {plan.backend}, flags: {flags}",
        f"workload {w.kind}: {w.duration:g} s, concurrency {w.concurrency}, "
        f"rate {'unlimited' if w.rate is None else f'{w.rate:g}/s'}, timeout {w.timeout:g} s; "
        f"checkers: {', '.join(c.name for c in exp.checkers)}",
    ]
    if not plan.placement.own_hosts:
        lines.append(
            f"({plan.backend}: ports are allocated when the run starts; the numbers below are examples)"
        )
    for n in plan.nodes:
        lines.append(f"node {n.node}" + (f" (role {n.role})" if n.role else ""))
        lines.append(f"  image:   {n.image}")
        lines.append(f"  ports:   {', '.join(f'{k} {v}' for k, v in n.ports.items())}")
        lines.extend(_launch(n) if n.launch is not None else [f"  command: {_argv(n.argv)}"])
        for k, v in n.env.items():
            lines.append(f"  env:     {k}={_quote(v)}")
        lines.append(f"  ready:   {n.ready}")
    ph = exp.phases
    lines.append(
        f"phases: warmup {ph.warmup:g} s, cooldown {ph.cooldown:g} s, recovery {ph.recovery:g} s, "
        f"final {'yes' if ph.final else 'no'}, ready within {ph.ready_timeout:g} s"
    )
    lines.append(f"fault schedule ({len(plan.schedule.events)} faults, seconds after the workload starts):")
    lines.extend(_event(e) for e in plan.schedule.events)
    return "\n".join(lines)


def _argv(argv: Any) -> str:
    return " ".join(_quote(str(a)) for a in argv)


def _launch(n: NodePlan) -> list[str]:
    """A declared node's start, as the launcher will do it (``harness.declare.launch``)."""
    spec = n.launch or {}
    out = [f"  command: {_argv(spec['argv'])}"]
    for f in spec.get("files") or []:
        text = f["content"]
        out.append(f"  file:    {f['path']} (mode {f['mode']:o}, {len(text)} bytes)")
        out.extend(f"           | {line}" for line in text.splitlines())
    after = spec.get("start_after")
    if after:
        what = " or ".join([*after["tcp"], *([_argv(after["command"])] if after["command"] else [])])
        when = "first start" if after["first"] else "every start"
        out.append(f"  after:   {what} answers ({when}; at most {after['timeout']:g} s)")
    first = spec.get("first_start")
    if first:
        for cmd in first["run"]:
            out.append(f"  first:   run {_argv(cmd)}")
        if list(first["argv"]) != list(spec["argv"]):
            out.append(f"  first:   command {_argv(first['argv'])}")
        if first.get("unless_exists"):
            out.append(f"  first:   whenever {first['unless_exists']} does not exist")
    return out


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)
