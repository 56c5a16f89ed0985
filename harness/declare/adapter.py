"""``DeclaredTarget``: a ``Declaration`` seen through the public ``Target`` protocol (``harness.target``).

The runner, the experiment checks and the platform treat it exactly as a Python target: ``topology`` checks
the node count and options, ``node_spec`` renders the node's command, environment, image and readiness
from the templates, and ``client`` builds the declared client class. A declared client is constructed as
``Client(nodes, process, timeout, context=ClientContext, roles={role: (nodes...)})``: it gets the run's flags
and options (the declaration's defaults under the experiment's), every node's named addresses and the roles.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from harness.declare.model import Declaration, ImageChoice, ReadyCheck, ResolvedSpec, role_members, spec_for
from harness.declare.templates import NodeVars, TemplateError, peer_nodes, render
from harness.errors import BadInput
from harness.names import BACKENDS, LIKE
from harness.target import Addr, ClientContext, ImageBuild, NodeContext, NodeSpec, Readiness, Topology


def node_names(count: int) -> tuple[str, ...]:
    return tuple(f"n{i}" for i in range(1, count + 1))


class DeclaredTarget:
    """A target made from a declaration file; see the module docstring."""

    def __init__(self, decl: Declaration) -> None:
        self.decl = decl
        self.name = decl.name
        self.planted_bugs = frozenset(decl.modes)
        self.ports: Mapping[str, int] = dict(decl.ports)
        self.default_workload = decl.workload
        self.default_nodes = decl.nodes_default
        self.description = decl.description

    @property
    def images(self) -> tuple[ImageBuild, ...]:
        """Every image the harness must build for this target (set-up builds them ahead of runs)."""
        choices = [self.decl.base.image, *(r.run.image for r in self.decl.roles)]
        built = [_image(c) for c in choices if c is not None and c.name is None]
        return tuple(dict.fromkeys(b for b in built if isinstance(b, ImageBuild)))

    def roles_for(self, nodes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        """Role name -> its nodes in a cluster of ``nodes`` (shown by ``chaos run --dry-run``)."""
        return role_members(self.decl, nodes)

    def __repr__(self) -> str:
        return f"DeclaredTarget({self.name!r} from {self.decl.file})"

    # -- Target protocol ------------------------------------------------------------------------------
    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        d = self.decl
        if not d.nodes_min <= nodes <= d.nodes_max:
            raise BadInput(f"nodes: {d.name} runs {d.nodes_min} to {d.nodes_max} nodes, got {nodes}")
        unknown = sorted(set(options) - set(d.options))
        if unknown:
            valid = ", ".join(sorted(d.options)) or "(none: the declaration declares no options)"
            raise BadInput(f"options.{unknown[0]}: not an option of {d.name}; valid: {valid}")
        names = node_names(nodes)
        for role in d.roles:
            missing = [n for n in role.nodes or () if n not in names]
            if missing:
                raise BadInput(f"nodes: role {role.name} needs node {missing[0]}, but {nodes} nodes run")
        members = role_members(d, names)
        for role_name, got in members.items():
            if not got:
                raise BadInput(f"nodes: role {role_name} gets no node with {nodes} nodes; run more nodes")
        for node in names:
            for backend in BACKENDS:
                spec = spec_for(d, node, names, backend, self.planted_bugs)
                pieces = [*spec.command, *spec.env.values()]
                for n in {p for piece in pieces for p in peer_nodes(piece)} - set(names):
                    raise BadInput(f"nodes: a template names peer.{n}, but {nodes} nodes run ({d.file})")
        return Topology.full_mesh(names)

    def resolved(self, ctx: NodeContext) -> tuple[ResolvedSpec, NodeVars]:
        """The node's still-unrendered spec and the values its templates read."""
        names = tuple(ctx.nodes)
        spec = spec_for(self.decl, ctx.node, names, ctx.backend, frozenset(ctx.flags))
        first = next(iter(self.decl.ports))
        own_ports = dict(ctx.ports) or {first: ctx.listen.port}
        addrs: dict[str, dict[str, Addr]] = {
            n: dict(ctx.peer_addrs.get(n) or ({first: ctx.peers[n]} if n in ctx.peers else {}))
            for n in names
            if n != ctx.node
        }
        addrs[ctx.node] = {p: Addr(ctx.host, port) for p, port in own_ports.items()}
        vars_ = NodeVars(
            node=ctx.node,
            nodes=names,
            host=ctx.host,
            ports=own_ports,
            data_dir=ctx.data_dir,
            addrs=addrs,
            roles=role_members(self.decl, names),
            bind=ctx.listen.host,
            options={**self.decl.options, **dict(ctx.options)},
        )
        return spec, vars_

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        if ctx.backend not in self.decl.backends and LIKE.get(ctx.backend) not in self.decl.backends:
            raise BadInput(
                f"backend {ctx.backend}: {self.name} runs only on {', '.join(self.decl.backends)} "
                f"(declared in {self.decl.file}); pass --backend {self.decl.backends[0]}"
            )
        spec, v = self.resolved(ctx)
        try:
            argv = tuple(render(p, v) for p in spec.command)
            env = {k: render(p, v) for k, p in spec.env.items()}
            ready = _readiness(spec.ready, v)
        except TemplateError as e:
            raise BadInput(f"{self.decl.file}: node {ctx.node}: {e}") from None
        return NodeSpec(argv, env, image=_image(spec.image), ready=ready)

    def client(
        self, nodes: Mapping[str, Addr], process: int, timeout: float, context: ClientContext | None = None
    ) -> Any:
        d = self.decl
        ctx = context or ClientContext(nodes=tuple(sorted(nodes)), timeout=timeout)
        ctx = replace(ctx, options={**d.options, **d.client_options, **dict(ctx.options)})
        module, _, attr = d.client_class.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        names = tuple(ctx.nodes) or tuple(sorted(nodes))
        return cls(nodes, process, timeout, context=ctx, roles=role_members(d, names))


def _image(choice: ImageChoice | None) -> str | ImageBuild | None:
    if choice is None:
        return None
    if choice.name is not None:
        return choice.name
    return ImageBuild(packages=choice.packages)


def _readiness(ready: ReadyCheck | None, v: NodeVars) -> Readiness | None:
    if ready is None:
        return None
    if ready.kind == "command":
        return Readiness("command", argv=tuple(render(p, v) for p in ready.command))
    assert ready.port is not None
    return Readiness(ready.kind, port=ready.port, path=ready.path, status=ready.status)
