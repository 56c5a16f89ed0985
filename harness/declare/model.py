"""The typed form of a target declaration (``target.yaml``): records the loader builds and the adapter reads.

Nothing here reads files or runs anything; ``harness.declare.loader`` builds a ``Declaration`` from YAML
(every template already parsed and checked), and ``harness.declare.adapter`` turns it into a ``Target``.
``spec_for`` resolves what one node runs -- base, backend override, role, then the modes switched on -- as
still-unrendered pieces, so ``chaos run --dry-run`` and the adapter share one resolution.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from harness.declare.templates import Join, Piece, Template
from harness.names import BACKENDS, LIKE


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ReadyCheck:
    """When a node is up: its port accepts TCP, answers HTTP ``status``, ``command`` exits 0, or (``running``,
    for a node that serves no port) its process runs."""

    kind: Literal["tcp", "http", "command", "running"]
    port: str | None = None
    path: str = "/"
    status: int = 200
    command: tuple[Piece, ...] = ()


@dataclass(frozen=True)
class ImageFile:
    """A file baked into a built image (static content, no templates): its absolute path, text and mode."""

    path: str
    content: str
    mode: int = 0o644


@dataclass(frozen=True)
class ImageChoice:
    """A docker image: one the user names, or the harness's base image plus Debian ``packages``, ``pip``
    packages (a helper process's), ``files`` and extra Dockerfile ``lines``."""

    name: str | None = None
    packages: tuple[str, ...] = ()
    pip: tuple[str, ...] = ()
    files: tuple[ImageFile, ...] = ()
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeFile:
    """A file written in the node before each start: ``path`` (relative: inside the data dir) and ``content``
    are templates (``content`` is kept verbatim when the declaration says ``template: false``)."""

    path: Template
    content: Template
    mode: int = 0o644


@dataclass(frozen=True)
class FirstStart:
    """What differs on a node's first start: commands ``run`` to completion first, then ``command`` instead of
    the usual one, or ``args`` appended to it. The first start is the one before which the data dir holds no
    marker (the harness writes it just before the node's program starts), or, with ``unless_exists``, every
    start before which that path does not exist."""

    run: tuple[tuple[Piece, ...], ...] = ()
    command: tuple[Piece, ...] | None = None
    args: tuple[Piece, ...] = ()
    unless_exists: Template | None = None


@dataclass(frozen=True)
class StartAfter:
    """Wait before starting until one of ``tcp`` (``host:port`` templates) accepts a connection or ``command``
    exits 0, at most ``timeout`` seconds (then start anyway, saying so in the node's log); ``first`` True:
    only before the node's first start."""

    tcp: tuple[Piece, ...] = ()
    command: tuple[Piece, ...] = ()
    timeout: float = 60.0
    first: bool = False


@dataclass(frozen=True)
class Override:
    """A partial run spec: a ``command`` replaces, ``args`` are appended to it, ``env`` entries merge in."""

    command: tuple[Piece, ...] | None = None
    args: tuple[Piece, ...] = ()
    env: Mapping[str, Piece] = field(default_factory=_empty)
    ready: ReadyCheck | None = None
    image: ImageChoice | None = None
    files: tuple[NodeFile, ...] = ()
    first_start: FirstStart | None = None
    start_after: StartAfter | None = None
    run_as: str | None = None


@dataclass(frozen=True)
class Role:
    """The nodes that run differently; ``nodes`` is ``None`` for ``rest`` (every node no other role names)."""

    name: str
    nodes: tuple[str, ...] | None
    run: Override


@dataclass(frozen=True)
class Extra:
    """What a mode adds: arguments appended to the command and environment merged in."""

    args: tuple[Piece, ...] = ()
    env: Mapping[str, Piece] = field(default_factory=_empty)


@dataclass(frozen=True)
class Mode:
    name: str
    description: str = ""
    extra: Extra = Extra()
    roles: Mapping[str, Extra] = field(default_factory=_empty)


@dataclass(frozen=True)
class Declaration:
    """A validated ``target.yaml``. ``ports`` keeps the file's order: the first is the client port."""

    name: str
    file: str
    ports: Mapping[str, int]
    base: Override
    client_class: str
    description: str = ""
    nodes_default: int = 3
    nodes_min: int = 1
    nodes_max: int = 9
    backends: tuple[str, ...] = BACKENDS
    overrides: Mapping[str, Override] = field(default_factory=_empty)  # per backend
    roles: tuple[Role, ...] = ()
    client_options: Mapping[str, Any] = field(default_factory=_empty)
    workload: str | None = None
    options: Mapping[str, Any] = field(default_factory=_empty)
    modes: Mapping[str, Mode] = field(default_factory=_empty)
    joins: Mapping[str, Join] = field(default_factory=_empty)
    folder: str = "."  # the declaration's folder: its client module is imported from there
    probes: Mapping[str, RoleProbe] = field(default_factory=_empty)


@dataclass(frozen=True)
class RoleProbe:
    """How to find which node holds a role at run time (a fault step's ``select:`` may name it): a
    ``command`` run beside each node exits 0 on the node that holds it."""

    name: str
    command: tuple[Piece, ...]


@dataclass(frozen=True)
class ResolvedSpec:
    """What one node runs, before templating: argv and env pieces, readiness, image, files and start rules."""

    role: str | None
    command: tuple[Piece, ...]
    env: Mapping[str, Piece]
    ready: ReadyCheck | None
    image: ImageChoice | None
    files: tuple[NodeFile, ...] = ()
    first_start: FirstStart | None = None
    start_after: StartAfter | None = None
    run_as: str | None = None


def role_members(decl: Declaration, nodes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Role name -> its nodes in this cluster (explicit names first, then ``rest`` gets the others)."""
    named = {n for r in decl.roles if r.nodes is not None for n in r.nodes}
    out: dict[str, tuple[str, ...]] = {}
    for r in decl.roles:
        out[r.name] = tuple(n for n in nodes if (n in r.nodes if r.nodes is not None else n not in named))
    return out


def spec_for(
    decl: Declaration, node: str, nodes: tuple[str, ...], backend: str, flags: frozenset[str]
) -> ResolvedSpec:
    """Resolve base <- backend override <- role <- modes for ``node`` (see the module docstring)."""
    role = next((r for r, members in role_members(decl, nodes).items() if node in members), None)
    override = decl.overrides.get(backend) or decl.overrides.get(LIKE.get(backend, backend), Override())
    layers = [decl.base, override]
    if role is not None:
        layers.append(next(r.run for r in decl.roles if r.name == role))
    command: tuple[Piece, ...] = ()
    env: dict[str, Piece] = {}
    ready: ReadyCheck | None = None
    image: ImageChoice | None = None
    files: dict[str, NodeFile] = {}
    first: FirstStart | None = None
    after: StartAfter | None = None
    run_as: str | None = None
    for layer in layers:
        command = (layer.command if layer.command is not None else command) + layer.args
        env.update(layer.env)
        ready = layer.ready or ready
        image = layer.image or image
        files.update((f.path.source, f) for f in layer.files)  # a later layer's file of one path replaces
        first = layer.first_start or first
        after = layer.start_after or after
        run_as = layer.run_as or run_as
    for name in sorted(flags):
        mode = decl.modes.get(name)
        if mode is None:
            continue
        extras = [mode.extra] + ([mode.roles[role]] if role is not None and role in mode.roles else [])
        for extra in extras:
            command = command + extra.args
            env.update(extra.env)
    return ResolvedSpec(
        role, command, MappingProxyType(env), ready, image, tuple(files.values()), first, after, run_as
    )
