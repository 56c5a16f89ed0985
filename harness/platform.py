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
| local | proxies | proxies | proxy toxics (``Mesh``) |
| docker | direct (proxied if asked) | direct (proxied if asked) | packet filters, toxics (``PacketNet``) |

``proxies`` is what the run wants proxied on docker (the runner asks for it only when an experiment schedules
link toxics on that class of link); on local everything is proxied. Each node starts with a ``NodeContext``
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

from harness.cluster.base import Backend, NodeAddrs, Pausable, capabilities_of
from harness.cluster.prepare import Preparable, check_ready
from harness.cluster.readiness import probe
from harness.cluster.rundir import RunDir, check_run_id, new_run_id
from harness.errors import BadInput, InfrastructureError
from harness.interrupts import hold, shielded, trapped
from harness.names import AUTO, BACKEND_CHOICES, CLIENT, CLIENTS, DOCKER, LOCAL, PEERS, ROUTES
from harness.net.mesh import Mesh
from harness.net.packet import PacketNet
from harness.net.toxiproxy import ToxiproxyApi
from harness.target import Addr, ClientContext, NodeContext, Readiness, Target, target_ports

T = TypeVar("T")


@dataclass
class Cluster:
    """A running cluster; see the module docstring. Construct only through ``open_cluster``."""

    run_id: str
    backend: Backend
    net: Mesh | PacketNet
    contexts: dict[str, NodeContext]
    capabilities: frozenset[str]
    _stopped: set[str] = field(default_factory=set)
    client_ports: dict[str, dict[str, Addr]] = field(default_factory=dict)
    ready: dict[str, Readiness | None] = field(default_factory=dict)
    proxied: frozenset[str] = frozenset(ROUTES)
    refusals: dict[str, str] = field(default_factory=dict)  # capability -> why this cluster lacks it

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.net.topology.nodes

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

    def kill(self, node: str) -> None:
        self._need("kill", node)
        self.backend.kill(node)  # type: ignore[attr-defined]

    def restart(self, node: str) -> None:
        """Stop the node gracefully and start it again, its data dir intact: what the ``restart`` fault does.

        Until issue 14 this killed the node; ``kill_and_start`` does that now (docs/platform.md)."""
        self._need("restart", node)
        self.backend.stop(node)
        self.backend.start(node)

    def kill_and_start(self, node: str) -> None:
        """Crash the node (SIGKILL) and start it again at once, its data dir intact."""
        self._need("kill", node)
        self.backend.kill(node)  # type: ignore[attr-defined]
        self.backend.start(node)

    def stop(self, node: str) -> None:
        self._need("stop", node)
        self.backend.stop(node)

    def start(self, node: str) -> None:
        self._need("start", node)
        self.backend.start(node)

    def pause(self, node: str) -> None:
        self._need("pause", node)
        assert isinstance(self.backend, Pausable)
        self.backend.pause(node)

    def resume(self, node: str) -> None:
        self._need("pause", node)
        assert isinstance(self.backend, Pausable)
        self.backend.resume(node)

    def logs(self) -> dict[str, str]:
        return self.backend.logs()

    def node_states(self) -> dict[str, str]:
        """Each node's state: ``running``, ``paused`` or ``down`` (what the nemesis's watch polls)."""
        states = getattr(self.backend, "states", None)
        if callable(states):
            return dict(states())
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


def make_backend(name: str, run: RunDir, base_port: int | None) -> Backend:
    if name not in BACKEND_CHOICES:
        raise BadInput(f"backend {name!r}: unknown; valid backends: {', '.join(BACKEND_CHOICES)}")
    if name in (DOCKER, AUTO):
        from harness.cluster.docker import DockerBackend, docker_reachable

        if name == DOCKER or docker_reachable():
            return DockerBackend(run)
    from harness.cluster.local import LocalBackend

    return LocalBackend(run, base_port=base_port)


def _teardown(
    cluster_net: Mesh | PacketNet | None, backend: Backend, run: RunDir, log_dir: Path | None
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
            if cluster_net is not None and cluster_net.api is not None:
                cluster_net.api.close()
            run.remove()


def _in_parallel(be: Backend, nodes: tuple[str, ...], fn: Callable[[str], T]) -> dict[str, T]:
    """``{node: fn(node)}``; on docker concurrently (each call is engine round trips), locally in order."""
    if be.name != DOCKER or len(nodes) < 2:
        return {n: fn(n) for n in nodes}
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        futures = {n: pool.submit(fn, n) for n in nodes}
        return {n: f.result() for n, f in futures.items()}


def resolve_proxies(backend: str, proxies: Iterable[str] | None) -> frozenset[str]:
    """Which classes of links go through proxies: everything on local; on docker what was asked for."""
    wanted = frozenset(proxies or ())
    bad = sorted(wanted - set(ROUTES))
    if bad:
        raise BadInput(f"proxies: {bad[0]!r} is not a class of links; valid: {', '.join(ROUTES)}")
    return frozenset(ROUTES) if backend == LOCAL else wanted


def _contexts(
    topology: Any,
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
    """Start a cluster of ``target`` on ``backend`` (``local``, ``docker`` or ``auto``); removed on exit.

    ``base_port`` (local backend only) uses consecutive fixed ports from there instead of free ones.
    ``proxies`` (docker only; local proxies everything): the classes of links (``peers``, ``clients``)
    to route through Toxiproxy, so that link toxics can act on them; the rest are direct.
    ``prepare``: capabilities the run's faults need that nodes must be started for (``clock``: under
    libfaketime; see ``harness.cluster.prepare``); other nodes start exactly as without it.
    """
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= 32:
        raise BadInput(f"nodes {nodes!r}: expected a whole number between 1 and 32")
    if backend not in BACKEND_CHOICES:
        raise BadInput(f"backend {backend!r}: unknown; valid backends: {', '.join(BACKEND_CHOICES)}")
    tgt = _resolve_target(target)
    try:
        ports = target_ports(tgt)
    except ValueError as e:
        raise BadInput(f"target {getattr(tgt, 'name', '?')}: {e}") from None
    opts = dict(options or {})
    topology = tgt.topology(nodes, opts)
    rid = check_run_id(run_id) if run_id else new_run_id()
    with trapped():
        run = RunDir.create(rid, owner_log_dir=log_dir)
        net: Mesh | PacketNet | None = None
        be: Backend | None = None
        try:
            be = make_backend(backend, run, base_port)
            if isinstance(be, Preparable):
                be.prepare(frozenset(prepare))
            proxied = resolve_proxies(be.name, proxies)
            addrs = _in_parallel(be, topology.nodes, lambda n: be.node_addrs(n, ports))
            mesh: Mesh | None = None
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
            net = mesh
            if be.name == DOCKER:
                ips = {n: be.direct_addr(n).host for n in topology.nodes}
                ips[CLIENT] = be.client_ip()  # type: ignore[attr-defined]
                be.attach_agents()  # type: ignore[attr-defined]
                net = PacketNet(
                    topology,
                    ips,
                    be.load_rules,  # type: ignore[attr-defined]
                    mesh,
                    shape=be.load_tc,  # type: ignore[attr-defined]
                    netem_ok=be.netem_available,  # type: ignore[attr-defined]
                )
            assert net is not None
            if CLIENTS in proxied and mesh is not None:
                client_ports = {n: dict(mesh.client_ports[n]) for n in topology.client_nodes}
            else:
                client_ports = {n: dict(addrs[n].client_direct) for n in topology.client_nodes}
            contexts = _contexts(topology, addrs, mesh, proxied, be, frozenset(flags), opts)
            specs = {n: tgt.node_spec(ctx) for n, ctx in contexts.items()}
            ready: dict[str, Readiness | None] = {n: spec.ready for n, spec in specs.items()}
            _in_parallel(be, topology.nodes, lambda n: be.start_node(contexts[n], specs[n]))
            hold("start-up")
            caps = capabilities_of(be) | {"partition"}
            if proxied:
                caps |= {"link"}
            if be.name == DOCKER:
                caps |= {"packet-loss"}
                if be.netem_available():  # type: ignore[attr-defined]
                    caps |= {"netem"}
            allowed = getattr(tgt, "capabilities", None)
            if allowed is not None:
                # packet loss is a partial partition: offered wherever partitions are
                packet = {"packet-loss", "netem"} if "partition" in allowed else set()
                caps &= frozenset(allowed) | packet
            refusals: dict[str, str] = {}
            if isinstance(be, Preparable):
                caps |= be.prepared()  # until the readiness check says a node cannot have one
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
                _teardown(net, be, run, Path(log_dir) if log_dir is not None else None)
            else:
                with shielded():
                    run.remove()
