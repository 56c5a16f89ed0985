"""``open_cluster``: the scoped cluster of one run (backend + Toxiproxy mesh), healed and removed on exit.

    with open_cluster(target, nodes=3, backend="local") as cluster:
        cluster.wait_ready(timeout=30)
        cluster.net.partition(isolate(cluster.nodes, "n1"))
        cluster.kill("n2"); cluster.start("n2")

The story: the target names the nodes, links and named ports (``topology``, ``ports``); the backend places
every node (local: free loopback ports; docker: a network sandbox with the node's IP and hostname); links are
routed either through Toxiproxy (one proxy per directed link and per named port) or directly:

| backend | peer links | client links | partitions (``cluster.net``) |
|---|---|---|---|
| local | proxies | direct (proxied if asked) | proxy toxics (``Mesh``) |
| docker | direct (proxied if asked) | direct (proxied if asked) | packet filters, toxics (``PacketNet``) |

``proxies`` is what the run wants proxied (the runner asks for it only when an experiment schedules link
toxics on that class of link); a backend that partitions by proxies (no ``NetworkHost``: local) always proxies
the peer links (``resolve_proxies``). Nothing here knows a backend by name: a
backend is found by its registered name (``harness.cluster.backends``) and what it does beyond ``Backend`` is
read from the protocols it implements (``harness.cluster.base``): ``Killable``, ``Pausable``, ``NodeStates``,
``Concurrent`` (its per-node calls run in parallel) and ``NetworkHost`` (it builds the run's ``Net`` itself,
as docker builds its packet filters; a backend without it is partitioned by proxies). The capabilities
follow (``capabilities_of``), and ``Cluster.ability(P)`` hands a fault the backend
as ``P``. Each node starts with a ``NodeContext``
holding its own host and ports and every peer's addresses. On exit -- normal, exception, Ctrl-C or SIGTERM
(``harness.interrupts``: a second signal cannot cut the teardown short) --
faults are healed, logs collected (into ``log_dir`` when given) and every process / container / network /
proxy of the run removed (on docker with it every packet filter rule: they live in the run's namespaces).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from harness.cluster.backends import check_backend, make_backend
from harness.cluster.base import (
    WHY_MISSING,
    Backend,
    Concurrent,
    Killable,
    NetworkHost,
    NodeAddrs,
    NodeStates,
    Pausable,
    capabilities_of,
    capability_for,
)
from harness.cluster.prepare import PREPARED, Preparable, check_ready
from harness.cluster.readiness import probe
from harness.cluster.rundir import RunDir, check_run_id, new_run_id
from harness.errors import BadInput, InfrastructureError
from harness.interrupts import hold, shielded, trapped
from harness.names import CLIENTS, LOCAL, PEERS, ROUTES
from harness.net.base import Net
from harness.net.mesh import Mesh
from harness.net.toxiproxy import ToxiproxyApi
from harness.target import (
    Addr,
    ClientContext,
    NodeContext,
    Readiness,
    Target,
    Topology,
    target_ports,
    target_traits,
)

T = TypeVar("T")


@dataclass
class Cluster:
    """A running cluster (implements ``harness.cluster.base.Cluster``); see the module docstring. Construct
    only through ``open_cluster``."""

    run_id: str
    backend: Backend
    net: Net
    contexts: dict[str, NodeContext]
    capabilities: frozenset[str]
    _stopped: set[str] = field(default_factory=set)
    client_ports: dict[str, dict[str, Addr]] = field(default_factory=dict)
    ready: dict[str, Readiness | None] = field(default_factory=dict)
    proxied: frozenset[str] = frozenset(ROUTES)
    refusals: dict[str, str] = field(default_factory=dict)  # capability -> why this cluster lacks it

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(self.contexts)  # in the topology's order

    @property
    def client_addrs(self) -> dict[str, Addr]:
        """Per client-reachable node, the address of its client port as clients dial it."""
        return {n: next(iter(ports.values())) for n, ports in self.client_ports.items()}

    def client_context(self, timeout: float = 5.0) -> ClientContext:
        """What clients and workloads may know about this run (see ``harness.target.ClientContext``)."""
        any_ctx = next(iter(self.contexts.values()))
        return ClientContext(
            flags=any_ctx.flags,
            options=dict(any_ctx.options),
            nodes=self.nodes,
            addrs={n: dict(p) for n, p in self.client_ports.items()},
            backend=self.backend.name,
            timeout=timeout,
        )

    def _need(self, cap: str, node: str) -> None:
        if cap not in self.capabilities:
            raise BadInput(f"{cap}: the {self.backend.name} backend cannot {cap} nodes")
        if node not in self.contexts:
            raise BadInput(f"{cap}: unknown node {node!r}; valid nodes: {', '.join(self.nodes)}")

    def wait_ready(self, timeout: float = 30, nodes: tuple[str, ...] | None = None) -> float:
        """Wait until every (given) node passes its readiness check (default: its client port accepts TCP);
        returns the seconds it took."""
        start = time.monotonic()
        pending = list(nodes or self.nodes)
        last: dict[str, str] = {}
        while pending:
            for node in list(pending):
                if not self.backend.running(node):
                    tail = self.backend.logs().get(node, "").strip().splitlines()[-3:]
                    raise InfrastructureError(
                        f"node {node} exited while starting: {' | '.join(tail) or 'no output'}"
                    )
                ok, why = probe(self.backend, node, self.ready.get(node))
                if ok:
                    pending.remove(node)
                else:
                    last[node] = why
            if not pending:
                break
            if time.monotonic() - start > timeout:
                detail = "; ".join(f"{n}: {last.get(n, 'not checked')}" for n in pending)
                raise InfrastructureError(
                    f"nodes {', '.join(pending)} not ready within {timeout:g} s ({detail})"
                )
            time.sleep(0.02)
        refused = check_ready(self.backend, nodes or self.nodes)  # a prepared ability that cannot work
        self.refusals.update(refused)
        self.capabilities = self.capabilities - set(refused)
        return time.monotonic() - start

    def ability(self, protocol: type[T]) -> T:
        """The backend typed as ``protocol``; ``BadInput`` naming the capability when this cluster lacks it
        (the backend does not implement it, or the target does not allow it)."""
        name = capability_for(protocol)
        if not isinstance(self.backend, protocol):
            why = WHY_MISSING.get(name, f"it does not implement {protocol.__name__}")
            raise BadInput(f"{name}: the {self.backend.name} backend cannot {name} ({why})")
        if name not in self.capabilities:
            raise BadInput(f"{name}: this cluster does not offer it (the target does not allow {name})")
        return self.backend

    def kill(self, node: str) -> None:
        self._need("kill", node)
        self.ability(Killable).kill(node)

    def restart(self, node: str) -> None:
        """Stop the node gracefully and start it again, its data dir intact: what the ``restart`` fault does.

        Until issue 14 this killed the node; ``kill_and_start`` does that now (docs/platform.md)."""
        self._need("restart", node)
        self.backend.stop(node)
        self.backend.start(node)

    def kill_and_start(self, node: str) -> None:
        """Crash the node (SIGKILL) and start it again at once, its data dir intact."""
        self._need("kill", node)
        self.ability(Killable).kill(node)
        self.backend.start(node)

    def stop(self, node: str) -> None:
        self._need("stop", node)
        self.backend.stop(node)

    def start(self, node: str) -> None:
        self._need("start", node)
        self.backend.start(node)

    def pause(self, node: str) -> None:
        self._need("pause", node)
        self.ability(Pausable).pause(node)

    def resume(self, node: str) -> None:
        self._need("pause", node)
        self.ability(Pausable).resume(node)

    def logs(self) -> dict[str, str]:
        return self.backend.logs()

    def node_states(self) -> dict[str, str]:
        """Each node's state: ``running``, ``paused`` or ``down`` (what the nemesis's watch polls)."""
        if isinstance(self.backend, NodeStates):
            return dict(self.backend.states())
        return {n: "running" if self.backend.running(n) else "down" for n in self.nodes}


def _resolve_target(target: Target | str) -> Target:
    if not isinstance(target, str):
        return target
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group="chaos_harness.targets")}
    if target not in found:
        raise BadInput(f"target {target!r}: unknown; registered targets: {', '.join(sorted(found))}")
    cls = found[target].load()
    return cls()


def _teardown(
    cluster_net: Net | None, mesh: Mesh | None, backend: Backend, run: RunDir, log_dir: Path | None
) -> None:
    with shielded():  # no signal, first or second, cuts the cleanup short; a noted one is raised after it
        hold("teardown")
        if cluster_net is not None:
            with contextlib.suppress(Exception):
                cluster_net.heal()
        try:
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                for node, text in backend.logs().items():
                    (log_dir / f"{node}.log").write_text(text, encoding="utf-8")
        finally:
            backend.close()
            if mesh is not None:
                mesh.api.close()
            run.remove()


def _in_parallel(be: Backend, nodes: tuple[str, ...], fn: Callable[[str], T]) -> dict[str, T]:
    """``{node: fn(node)}``; concurrently when the backend says its calls may be (``Concurrent``)."""
    if not (isinstance(be, Concurrent) and be.concurrent_calls) or len(nodes) < 2:
        return {n: fn(n) for n in nodes}
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        futures = {n: pool.submit(fn, n) for n in nodes}
        return {n: f.result() for n, f in futures.items()}


def resolve_proxies(be: Backend | type, proxies: Iterable[str] | None) -> frozenset[str]:
    """Which classes of links go through proxies: what was asked for when the backend builds its own network
    (``NetworkHost``: docker); else the peer links always (the proxies are how it partitions) and the client
    links only when asked (a link fault on them).

    Clients dial nodes directly otherwise, as on docker: a proxy in front of a dead node accepts the
    connection and then closes it, so a client cannot tell "refused, certainly not done" (``fail``) from
    "lost after sending" (``info``), and an all-down run recorded thousands of needless unknowns."""
    wanted = frozenset(proxies or ())
    bad = sorted(wanted - set(ROUTES))
    if bad:
        raise BadInput(f"proxies: {bad[0]!r} is not a class of links; valid: {', '.join(ROUTES)}")
    return wanted if isinstance(be, NetworkHost) else frozenset({PEERS}) | wanted


def _contexts(
    topology: Topology,
    addrs: Mapping[str, NodeAddrs],
    mesh: Mesh | None,
    proxied: frozenset[str],
    be: Backend,
    flags: frozenset[str],
    opts: Mapping[str, Any],
) -> dict[str, NodeContext]:
    out = {}
    for n in topology.nodes:
        if PEERS in proxied and mesh is not None:
            peer_addrs = {p: dict(m) for p, m in mesh.peer_ports[n].items()}
        else:
            linked = {b for a, b in topology.links if a == n}
            peer_addrs = {p: dict(addrs[p].direct) for p in topology.nodes if p in linked}
        out[n] = NodeContext(
            node=n,
            nodes=topology.nodes,
            listen=addrs[n].listen,
            peers={p: next(iter(m.values())) for p, m in peer_addrs.items()},
            data_dir=f"{be.data_root}/{n}",
            flags=frozenset(flags),
            options=opts,
            host=addrs[n].host,
            ports=dict(addrs[n].ports),
            peer_addrs=peer_addrs,
            backend=be.name,
        )
    return out


@contextlib.contextmanager
def open_cluster(
    target: Target | str,
    nodes: int = 3,
    backend: str = LOCAL,
    flags: frozenset[str] = frozenset(),
    options: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    log_dir: str | Path | None = None,
    base_port: int | None = None,
    proxies: Iterable[str] | None = None,
    prepare: Iterable[str] = (),
) -> Iterator[Cluster]:
    """Start a cluster of ``target`` on ``backend`` (any registered name, e.g. ``local`` or ``docker``, or
    ``auto``); removed on exit.

    ``base_port`` (local backend only) uses consecutive fixed ports from there instead of free ones.
    ``proxies`` (docker only; local proxies everything): the classes of links (``peers``, ``clients``)
    to route through Toxiproxy, so that link toxics can act on them; the rest are direct.
    ``prepare``: capabilities the run's faults need that nodes must be started for (``clock``: under
    libfaketime; see ``harness.cluster.prepare``); other nodes start exactly as without it.
    """
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= 32:
        raise BadInput(f"nodes {nodes!r}: expected a whole number between 1 and 32")
    check_backend(backend)
    tgt = _resolve_target(target)
    traits = target_traits(tgt)
    try:
        ports = target_ports(tgt)
    except ValueError as e:
        raise BadInput(f"target {tgt.name}: {e}") from None
    opts = dict(options or {})
    topology = tgt.topology(nodes, opts)
    rid = check_run_id(run_id) if run_id else new_run_id()
    with trapped():
        run = RunDir.create(rid, owner_log_dir=log_dir)
        net: Net | None = None
        mesh: Mesh | None = None
        be: Backend | None = None
        try:
            be = make_backend(backend, run, base_port)
            if isinstance(be, Preparable):
                be.prepare(frozenset(prepare))
            proxied = resolve_proxies(be, proxies)
            addrs = _in_parallel(be, topology.nodes, lambda n: be.node_addrs(n, ports))
            if proxied:
                api = ToxiproxyApi(be.start_toxiproxy())
                api.wait_ready(timeout=15)
                hosts = be.proxy_hosts()
                mesh = Mesh.build(
                    api,
                    topology,
                    {n: dict(a.upstreams) or a.upstream for n, a in addrs.items()},
                    hosts.listen_host,
                    be.proxy_port,
                    hosts.node_host,
                    hosts.client_host,
                    peer_links=PEERS in proxied,
                    client_links=CLIENTS in proxied,
                )
            net = be.build_net(topology, mesh) if isinstance(be, NetworkHost) else mesh
            if net is None:
                raise InfrastructureError(
                    f"backend {be.name}: no network to fault (it builds none, and no link is proxied)"
                )
            if CLIENTS in proxied and mesh is not None:
                client_ports = {n: dict(mesh.client_ports[n]) for n in topology.client_nodes}
            else:
                client_ports = {n: dict(addrs[n].client_direct) for n in topology.client_nodes}
            contexts = _contexts(topology, addrs, mesh, proxied, be, frozenset(flags), opts)
            specs = {n: tgt.node_spec(ctx) for n, ctx in contexts.items()}
            ready: dict[str, Readiness | None] = {n: spec.ready for n, spec in specs.items()}
            _in_parallel(be, topology.nodes, lambda n: be.start_node(contexts[n], specs[n]))
            hold("start-up")
            caps = capabilities_of(be, net, traits.capabilities) - PREPARED
            refusals: dict[str, str] = {}
            if isinstance(be, Preparable):  # until the readiness check says a node cannot have one
                allowed = traits.capabilities
                caps |= be.prepared() if allowed is None else be.prepared() & frozenset(allowed)
                refusals.update(be.unprepared())
            yield Cluster(
                rid,
                be,
                net,
                contexts,
                caps,
                client_ports=client_ports,
                ready=ready,
                proxied=proxied,
                refusals=refusals,
            )
        finally:
            if be is not None:
                _teardown(net, mesh, be, run, Path(log_dir) if log_dir is not None else None)
            else:
                with shielded():
                    run.remove()
