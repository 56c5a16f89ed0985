"""The public target API: what a system under test provides so the harness can run, break and check it.

The bundled targets (``targets/kv``, ``targets/queue``, ``targets/lock``) use exactly this API, registered
through the ``chaos_harness.targets`` entry-point group, as a user's own target would.

A target says which nodes it has and which links between them carry traffic (``Topology``), which named ports
a node serves (optional ``ports``, e.g. ``{"client": 2379, "peer": 2380}``; the first is the client port), how
to start each node (``node_spec``: an argv run as a subprocess on the ``local`` backend or inside an image on
the ``docker`` backend, optionally with its own ``image`` and a ``ready`` check), and how a harness worker
talks to it (``client``, which may take a ``context=ClientContext`` keyword). Clients never raise for an
operation's failure: they return a ``Completion`` (Jepsen's word for the op that completes an
invocation) that is honest about uncertainty (``fail`` only when the
operation certainly did not happen) and may name the ``node`` that served it.

Addresses (see ``NodeContext``): on ``docker`` every node has a stable hostname (its name) and its own IP on
the run's network and peers dial each other's real ports (``peer_addrs``); on ``local`` every named port of
every node is a free loopback port and each peer is reached through a per-link Toxiproxy proxy per port.
``docs/platform.md`` says which fits which system.

The whole contract of a Python target is ``Target`` below: five required members and seven optional ones
(``ports``, ``images``, ``capabilities``, ``default_nodes``, ``default_workload``, ``roles_for``, ``decl``),
each with its documented default. ``TargetBase`` is an optional base class holding every default; the harness
reads the optional members only through ``target_traits`` (and ``target_ports``), never one by one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from harness.names import LOCAL

CLIENT_PORT = "client"  # the name of a node's client port when a target names no ports
DEFAULT_PORT = 7000  # the client port of a target that names no ports (the port used on docker)
READY_KINDS = ("tcp", "http", "command", "running")


@dataclass(frozen=True, order=True)
class Addr:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Topology:
    """A cluster's nodes, the directed links between them (one proxy each) and the nodes clients reach."""

    nodes: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    client_nodes: tuple[str, ...]

    @classmethod
    def full_mesh(cls, nodes: Sequence[str]) -> Topology:
        ns = tuple(nodes)
        return cls(ns, tuple((a, b) for a in ns for b in ns if a != b), ns)


@dataclass(frozen=True)
class NodeContext:
    """What a node needs to start.

    ``listen``: the address the node binds for its client port (``0.0.0.0:<port>`` on docker,
    ``127.0.0.1:<port>`` on local); ``peers[j]``: the address this node dials to reach j's client port (a
    proxy on local; j's hostname and real port on docker unless the run routes peer links through proxies for
    link toxics). ``host``: the node's own address as its peers reach it (docker: its hostname, i.e. its name,
    on the run's network; local: 127.0.0.1). ``ports``: this node's named ports (what it binds).
    ``peer_addrs[j][name]``: the address to dial for j's port ``name`` (docker: ``Addr(j, real port)``,
    nothing rewritten; local: the per-link proxy of that port). ``data_dir`` exists before the node starts.
    """

    node: str
    nodes: tuple[str, ...]
    listen: Addr
    peers: Mapping[str, Addr]
    data_dir: str
    flags: frozenset[str] = frozenset()
    options: Mapping[str, Any] = field(default_factory=dict)
    host: str = "127.0.0.1"
    ports: Mapping[str, int] = field(default_factory=dict)
    peer_addrs: Mapping[str, Mapping[str, Addr]] = field(default_factory=dict)
    backend: str = LOCAL


@dataclass(frozen=True)
class Readiness:
    """When a node counts as ready (``Cluster.wait_ready``); without one: its client port accepts TCP.

    ``tcp``: the named ``port`` accepts a connection. ``http``: ``GET http://<node>:<port><path>`` answers
    ``status``. ``command``: ``argv`` exits 0; on docker it runs inside the node's container
    (``docker exec``), on local on the host with the project root as working directory (``python3`` as on the
    node). ``running``: the node's process runs (for a node that serves no port, e.g. a consumer).
    """

    kind: Literal["tcp", "http", "command", "running"] = "tcp"
    port: str = CLIENT_PORT
    path: str = "/"
    status: int = 200
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in READY_KINDS:
            raise ValueError(f"ready.kind {self.kind!r}: expected one of {', '.join(READY_KINDS)}")
        if self.kind == "command" and not self.argv:
            raise ValueError(
                "ready: kind command needs argv, the command that exits 0 once the node is ready"
            )
        if self.kind == "http" and not self.path.startswith("/"):
            raise ValueError(f"ready.path {self.path!r}: must start with '/'")


@dataclass(frozen=True)
class ImageBuild:
    """An image the harness builds for a node (docker only): its base image plus Debian ``packages``.

    ``lines`` are extra Dockerfile lines appended after the install (e.g. ``RUN mkdir -p /srv/x``). The tag is
    ``chaos-harness/node:<hash>`` over the base image's id and this spec: built once (with the host's network,
    since containers have none), then cached. ``python -m harness.cluster.docker build-image --all-declared``
    builds every image the registered targets declare (``scripts/setup`` runs it).
    """

    packages: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for p in self.packages:
            if not p or not all(c.isalnum() or c in "+-.:=~" for c in p):
                raise ValueError(f"image.packages: {p!r} is not a Debian package name")
        for line in self.lines:
            if "\n" in line or not line.strip():
                raise ValueError(f"image.lines: {line!r} must be one non-empty Dockerfile line")


@dataclass(frozen=True)
class NodeSpec:
    """How to start a node: ``argv[0] == "python3"`` becomes the local interpreter on the local backend.

    The working directory is the project root locally and ``/app`` in the bundled target image; both hold
    ``targets/``. ``image`` (docker only): None = the bundled target image; a string = an image that must
    exist locally (no registry is asked); an ``ImageBuild`` = built from the base image. With another image
    the working directory is the image's own. ``ready``: the node's readiness check (default: the client port
    accepts TCP).
    """

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    image: str | ImageBuild | None = None
    ready: Readiness | None = None


@dataclass(frozen=True)
class Completion:
    """What a client call returned: ``ok`` (happened), ``fail`` (certainly not), ``info`` (unknown).

    ``node``: the node that served the call, when the client knows (recorded on the completion op).
    """

    type: Literal["ok", "fail", "info"]
    value: Any = None
    error: str | None = None
    node: str | None = None


# Deprecated since 0.2.0: the name ``Outcome`` (it also meant a run's pass / fail / unknown). The same class,
# so clients written against it keep working; new code says ``Completion``.
Outcome = Completion


@dataclass(frozen=True)
class ClientContext:
    """What a client (and a workload) may know about the run, passed as the keyword ``context``.

    ``flags`` and ``options`` are the target's (planted bugs switched on, ``target.options``); ``nodes`` every
    node; ``addrs[node][port name]`` the address a client dials (docker: the node's IP and real port, unless
    the run routes client links through proxies for link toxics; local: the client proxy of that port);
    ``backend`` ``local`` or ``docker``; ``timeout`` the workload's per-call timeout in seconds.
    """

    flags: frozenset[str] = frozenset()
    options: Mapping[str, Any] = field(default_factory=dict)
    nodes: tuple[str, ...] = ()
    addrs: Mapping[str, Mapping[str, Addr]] = field(default_factory=dict)
    backend: str = LOCAL
    timeout: float = 5.0


def accepts_context(fn: Any) -> bool:
    """Whether ``fn`` takes a ``context`` keyword (by name or through ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "context" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def make_client(
    target: Any, nodes: Mapping[str, Addr], process: int, timeout: float, context: ClientContext
) -> Any:
    """``target.client(nodes, process, timeout)``, plus ``context=`` when the client accepts it."""
    if accepts_context(target.client):
        return target.client(nodes, process, timeout, context=context)
    return target.client(nodes, process, timeout)


def make_workload(factory: Any, options: Mapping[str, Any], context: ClientContext) -> Any:
    """``factory(options)``, plus ``context=`` when the workload accepts it (old workloads keep working)."""
    if accepts_context(factory):
        return factory(dict(options), context=context)
    return factory(dict(options))


@runtime_checkable
class Client(Protocol):
    def invoke(self, f: str, value: Any) -> Completion: ...

    def close(self) -> None: ...


class WorkerPlan(Protocol):
    """One worker's stream of operations. ``next`` gets the previous call and its outcome (``None`` at first)
    and returns the next ``(f, value)`` to invoke, or ``None`` when this worker is done."""

    def next(self, last: tuple[str, Any, Completion] | None) -> tuple[str, Any] | None: ...


@runtime_checkable
class Workload(Protocol):
    """What the workers do against a target, and how the history is checked afterwards.

    ``final_ops`` run after the faults are healed and the cluster has recovered (final reads, a queue drain,
    reading the protected resource's log); their completions are in the history like any other op.
    ``checkers`` names the checkers (with options) that fit this workload's history by default.
    """

    name: str

    def plan(self, process: int, rng: Any) -> WorkerPlan: ...

    def final_ops(self) -> Sequence[tuple[str, Any]]: ...

    def checkers(self) -> Mapping[str, Mapping[str, Any]]: ...


@runtime_checkable
class Target(Protocol):
    """A system under test. ``planted_bugs`` names the bugs it offers; all are off unless an experiment names
    them, and the ones switched on reach each node only through ``NodeContext.flags``.

    Optional members (a target may leave any out; ``TargetBase`` holds every default; the harness reads them
    only through ``target_traits``):

    - ``ports: Mapping[str, int]``: named ports, the first the client's (default ``{"client": 7000}``);
    - ``images``: the ``ImageBuild`` specs its nodes may run, a sequence or a method returning one (default
      none), which set-up builds ahead of runs;
    - ``capabilities``: the fault capabilities it allows (default: all the cluster offers; allowing
      ``partition`` allows ``packet-loss`` and ``netem``);
    - ``default_nodes: int``: the node count when an experiment names none (default: the experiment's 3);
    - ``default_workload: str``: the workload kind when an experiment names none (default: the target's name);
    - ``roles_for(nodes) -> {role: nodes}``: which node plays which role, shown by ``chaos run --dry-run``
      (default: no roles);
    - ``role_names``: the roles ``roles`` may report, which fault selectors may name (default none);
    - ``roles(context) -> {role: nodes}``: who holds which role on the live cluster, asked when a fault that
      selects by role starts (default: only the fixed roles of ``roles_for``);
    - ``decl``: the ``target.yaml`` declaration it was made from (declared targets; its ``file`` is shown).
    """

    name: str
    planted_bugs: frozenset[str]

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology: ...

    def node_spec(self, ctx: NodeContext) -> NodeSpec: ...

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> Client:
        """A client for one worker; ``nodes`` maps each client-reachable node to the address of its client
        port (a proxy on local, the node itself on docker). A client that also takes a keyword ``context``
        gets a ``ClientContext`` (the run's flags, options and every node's named addresses)."""
        ...


Roles = Mapping[str, Sequence[str]]


class TargetBase:
    """An optional base class for a Python target: every optional member of ``Target`` at its default."""

    ports: Mapping[str, int] | None = None
    images: Sequence[ImageBuild] = ()
    capabilities: frozenset[str] | None = None
    default_nodes: int | None = None
    default_workload: str | None = None
    decl: Any = None

    def roles_for(self, nodes: tuple[str, ...]) -> Roles:
        return {}


# One protocol per optional member: how ``target_traits`` tells whether a target has it.
@runtime_checkable
class HasPorts(Protocol):
    ports: Mapping[str, int] | None


@runtime_checkable
class HasImages(Protocol):
    images: Sequence[ImageBuild] | Callable[[], Sequence[ImageBuild]]


@runtime_checkable
class HasCapabilities(Protocol):
    capabilities: Iterable[str] | None


@runtime_checkable
class HasDefaultNodes(Protocol):
    default_nodes: int | None


@runtime_checkable
class HasDefaultWorkload(Protocol):
    default_workload: str | None


@runtime_checkable
class HasRoles(Protocol):
    def roles_for(self, nodes: tuple[str, ...]) -> Roles: ...


@runtime_checkable
class HasRoleNames(Protocol):
    role_names: Iterable[str]


@runtime_checkable
class HasLiveRoles(Protocol):
    def roles(self, context: ClientContext) -> Mapping[str, Iterable[str]]: ...


@runtime_checkable
class DeclarationFile(Protocol):
    file: str


@runtime_checkable
class HasDeclaration(Protocol):
    decl: DeclarationFile | None


def _no_roles(nodes: tuple[str, ...]) -> Roles:
    return {}


@dataclass(frozen=True)
class TargetTraits:
    """A target's optional members, each resolved to its value or its default (see ``Target``)."""

    ports: Mapping[str, int] | None = None
    images: tuple[ImageBuild, ...] = ()
    capabilities: frozenset[str] | None = None
    default_nodes: int | None = None
    default_workload: str | None = None
    declaration: str | None = None  # the declaration file of a declared target
    roles_for: Callable[[tuple[str, ...]], Roles] = _no_roles
    role_names: tuple[str, ...] = ()
    roles: Callable[..., Mapping[str, Iterable[str]]] | None = None


def target_traits(target: object) -> TargetTraits:
    """The optional members of ``target`` (the one place the harness reads them)."""
    images: Any = target.images if isinstance(target, HasImages) else ()
    images = (images() if callable(images) else images) or ()
    caps = target.capabilities if isinstance(target, HasCapabilities) else None
    decl = target.decl if isinstance(target, HasDeclaration) else None
    return TargetTraits(
        ports=target.ports if isinstance(target, HasPorts) else None,
        images=tuple(i for i in images if isinstance(i, ImageBuild)),
        capabilities=frozenset(caps) if caps is not None else None,
        default_nodes=target.default_nodes if isinstance(target, HasDefaultNodes) else None,
        default_workload=target.default_workload if isinstance(target, HasDefaultWorkload) else None,
        declaration=str(decl.file) if isinstance(decl, DeclarationFile) else None,
        roles_for=target.roles_for if isinstance(target, HasRoles) else _no_roles,
        role_names=tuple(map(str, target.role_names)) if isinstance(target, HasRoleNames) else (),
        roles=target.roles if isinstance(target, HasLiveRoles) else None,
    )


def target_ports(target: object) -> dict[str, int]:
    """A target's named ports (``ports`` attribute, in order; the first is the client port), checked."""
    declared = target_traits(target).ports
    if declared is None:
        return {CLIENT_PORT: DEFAULT_PORT}
    ports = dict(declared)
    if not ports:
        raise ValueError(
            "ports: a target that declares ports must name at least one (the first is the client's)"
        )
    for name, port in ports.items():
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"ports: port name {name!r} must be letters, digits, '-' or '_'")
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"ports.{name}: expected a port number in 1..65535, got {port!r}")
    if len(set(ports.values())) != len(ports):
        raise ValueError(f"ports: two names share one port number: {ports}")
    return ports


# -- Roles (optional members; harness.faults.roles resolves fault selectors from them) -----------------------
# A target may say who holds which role: ``role_names`` (the names ``roles`` may report, checked before the
# run) and ``roles(context: ClientContext) -> Mapping[str, Iterable[str]]`` (asked on the live cluster,
# through its client ports, when a fault that selects by role starts: e.g. ``{"leader": ["n2"], "followers":
# [...]}``). A declared target's fixed roles (``roles_for(nodes)``: target.yaml ``roles:``) count too.


def static_roles(target: object, nodes: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Roles whose nodes are fixed before the run (a declared target's ``roles:``), role -> nodes."""
    return {str(k): tuple(v) for k, v in target_traits(target).roles_for(tuple(nodes)).items()}


def role_names(target: object, nodes: Sequence[str]) -> tuple[str, ...]:
    """Every role name a fault may select for ``target``: its ``role_names`` and its fixed roles."""
    return tuple(dict.fromkeys((*target_traits(target).role_names, *static_roles(target, nodes))))


def live_roles(target: object, context: ClientContext, cluster: Any = None) -> dict[str, tuple[str, ...]]:
    """The roles now: the fixed ones, then what ``target.roles(context)`` reports (it wins for a role both
    name); a ``roles`` that also takes a ``cluster`` keyword gets the live cluster (to run a probe command
    beside each node). Raises whatever the probe raises (the caller records it and falls back)."""
    out = static_roles(target, context.nodes)
    probe = target_traits(target).roles
    if probe is not None:
        wants_cluster = cluster is not None and _takes(probe, "cluster")
        answer = probe(context, cluster=cluster) if wants_cluster else probe(context)
        out.update({str(k): tuple(map(str, v)) for k, v in answer.items()})
    return out


def _takes(fn: Any, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
