"""``DeclaredTarget``: a ``Declaration`` seen through the public ``Target`` protocol (``harness.target``).

The runner, the experiment checks and the platform treat it exactly as a Python target: ``topology`` checks
the node count and options, ``node_spec`` renders the node's command, environment, image and readiness
from the templates, and ``client`` builds the declared client class. A node with declared ``files``,
``first_start`` or ``start_after`` runs through the launcher (``harness.declare.launch``, as ``python3 -c``:
it writes the files, waits, runs the first-start commands, then execs the node's argv). A declared client
is constructed as
``Client(nodes, process, timeout, context=ClientContext, roles={role: (nodes...)})``: it gets the run's flags
and options (the declaration's defaults under the experiment's), every node's named addresses and the roles.
"""

from __future__ import annotations

import base64
import inspect
import json
import shlex
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from harness.declare import launch
from harness.declare.imports import import_object
from harness.declare.model import Declaration, ImageChoice, ReadyCheck, ResolvedSpec, role_members, spec_for
from harness.declare.roles import client_role_names, client_roles
from harness.declare.templates import NodeVars, Piece, TemplateError, peer_nodes, render
from harness.errors import BadInput
from harness.names import BACKENDS, LIKE
from harness.target import Addr, ClientContext, ImageBuild, NodeContext, NodeSpec, Readiness, Topology

MAX_LAUNCH_SPEC = 100_000  # bytes of one node's launcher spec (one argv element; the kernel allows 128 KiB)
_SOURCE = inspect.getsource(launch)
LAUNCHER = _SOURCE[_SOURCE.index("from __future__") :]  # the code without its docstring (a shorter argv)


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
                pieces = [*spec.command, *spec.env.values(), *_start_pieces(spec), *d.joins.values()]
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
            joins=self.decl.joins,
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
            launch_spec = _launch_spec(spec, v, argv)
        except TemplateError as e:
            raise BadInput(f"{self.decl.file}: node {ctx.node}: {e}") from None
        if launch_spec is not None:
            encoded = json.dumps(launch_spec, separators=(",", ":"))
            if len(encoded.encode()) > MAX_LAUNCH_SPEC:
                raise BadInput(
                    f"{self.decl.file}: node {ctx.node}: files and start rules render to {len(encoded)} "
                    "bytes, "
                    f"more than {MAX_LAUNCH_SPEC}; bake large files into the image (image.files)"
                )
            argv = ("python3", "-c", LAUNCHER, encoded)
        return NodeSpec(argv, env, image=_image(spec.image), ready=ready)

    def role_holders(self, role: str, cluster: Any, timeout: float = 5.0) -> tuple[str, ...]:
        """The nodes of a live ``cluster`` on which the declared ``role_probes[role]`` command exits 0 now
        (run beside each node: docker in its container, local on the host); ``roles`` asks it when a fault
        selects that role."""
        probe = self.decl.probes.get(role)
        if probe is None:
            valid = ", ".join(sorted(self.decl.probes)) or "(none declared; add role_probes:)"
            raise BadInput(f"{self.decl.file}: no role probe {role!r}; declared: {valid}")
        out = []
        for node in cluster.nodes:
            _, v = self.resolved(cluster.contexts[node])
            argv = tuple(render(p, v) for p in probe.command)
            if cluster.backend.run_command(node, argv, {}, timeout) == 0:
                out.append(node)
        return tuple(out)

    def launch_plan(self, ctx: NodeContext) -> dict[str, Any] | None:
        """What the launcher will do for this node (files, waits, first start), rendered; None: no launcher
        (``chaos run --dry-run`` and tests read it)."""
        spec, v = self.resolved(ctx)
        try:
            return _launch_spec(spec, v, tuple(render(p, v) for p in spec.command))
        except TemplateError as e:
            raise BadInput(f"{self.decl.file}: node {ctx.node}: {e}") from None

    def client(
        self, nodes: Mapping[str, Addr], process: int, timeout: float, context: ClientContext | None = None
    ) -> Any:
        d = self.decl
        ctx = context or ClientContext(nodes=tuple(sorted(nodes)), timeout=timeout)
        ctx = replace(ctx, options={**d.options, **d.client_options, **dict(ctx.options)})
        try:
            cls = import_object(d.client_class, d.folder)
        except ValueError as e:
            raise BadInput(f"{d.file}: client: {e}") from None
        names = tuple(ctx.nodes) or tuple(sorted(nodes))
        return cls(nodes, process, timeout, context=ctx, roles=role_members(d, names))

    # -- optional role members (harness.target): live roles through the client class (declare/roles.py) and
    #    the declared role probes (``role_probes:``, a command run beside each node)
    def _client_class(self) -> Any:
        try:
            return import_object(self.decl.client_class, self.decl.folder)
        except ValueError as e:
            raise BadInput(f"{self.decl.file}: client: {e}") from None

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*client_role_names(self._client_class()), *self.decl.probes)))

    def roles(self, context: ClientContext, cluster: Any = None) -> Mapping[str, Any]:
        ctx = replace(
            context, options={**self.decl.options, **self.decl.client_options, **dict(context.options)}
        )
        found = dict(client_roles(self._client_class(), ctx))
        if cluster is not None:
            found.update({role: self.role_holders(role, cluster) for role in self.decl.probes})
        return found


def _start_pieces(spec: ResolvedSpec) -> list[Piece]:
    """Every template of the node's files and start rules (for the peer-name check)."""
    out: list[Piece] = [p for f in spec.files for p in (f.path, f.content)]
    if spec.first_start is not None:
        fs = spec.first_start
        out += [*(p for cmd in fs.run for p in cmd), *(fs.command or ()), *fs.args]
        out += [fs.unless_exists] if fs.unless_exists is not None else []
    if spec.start_after is not None:
        out += [*spec.start_after.tcp, *spec.start_after.command]
    return out


def _launch_spec(spec: ResolvedSpec, v: NodeVars, argv: tuple[str, ...]) -> dict[str, Any] | None:
    """The launcher's JSON spec (``harness.declare.launch``), or None when the node needs no launcher."""
    if not spec.files and spec.first_start is None and spec.start_after is None and spec.run_as is None:
        return None
    out: dict[str, Any] = {
        "data_dir": v.data_dir,
        "run_as": spec.run_as,
        "argv": list(argv),
        "files": [
            {"path": render(f.path, v), "content": render(f.content, v), "mode": f.mode} for f in spec.files
        ],
    }
    fs = spec.first_start
    if fs is not None:
        first_argv = [render(p, v) for p in fs.command] if fs.command is not None else list(argv)
        out["first_start"] = {
            "run": [[render(p, v) for p in cmd] for cmd in fs.run],
            "argv": first_argv + [render(p, v) for p in fs.args],
            "unless_exists": render(fs.unless_exists, v) if fs.unless_exists is not None else None,
        }
    after = spec.start_after
    if after is not None:
        out["start_after"] = {
            "tcp": [render(p, v) for p in after.tcp],
            "command": [render(p, v) for p in after.command],
            "timeout": after.timeout,
            "first": after.first,
        }
    return out


def _image(choice: ImageChoice | None) -> str | ImageBuild | None:
    if choice is None:
        return None
    if choice.name is not None:
        return choice.name
    pip_needs = ("python3-pip",) if choice.pip and "python3-pip" not in choice.packages else ()
    packages = choice.packages + pip_needs
    lines: list[str] = []
    if choice.pip:
        reqs = " ".join(shlex.quote(r) for r in choice.pip)
        lines.append(f"RUN python3 -m pip install --no-cache-dir --break-system-packages {reqs}")
    for f in choice.files:
        data = base64.b64encode(f.content.encode()).decode()
        path = shlex.quote(f.path)
        write = f"echo {data} | base64 -d > {path} && chmod {f.mode:o} {path}"
        lines.append(f"RUN mkdir -p \"$(dirname {path})\" && {write}")
    return ImageBuild(packages=packages, lines=(*lines, *choice.lines))


def _readiness(ready: ReadyCheck | None, v: NodeVars) -> Readiness | None:
    if ready is None:
        return None
    if ready.kind == "running":
        return Readiness("running")
    if ready.kind == "command":
        return Readiness("command", argv=tuple(render(p, v) for p in ready.command))
    assert ready.port is not None
    return Readiness(ready.kind, port=ready.port, path=ready.path, status=ready.status)
