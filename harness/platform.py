"""``open_cluster``: the scoped cluster of one run (backend + Toxiproxy mesh), healed and removed on exit.

    with open_cluster(target, nodes=3, backend="local") as cluster:
        cluster.wait_ready(timeout=30)
        cluster.net.partition(isolate(cluster.nodes, "n1"))
        cluster.kill("n2"); cluster.restart("n2")

The story: the target names the nodes and links (``topology``); the backend starts Toxiproxy; the mesh creates
one proxy per directed link and per client link; each node starts with ``peers`` pointing at its proxies.
On exit -- normal, exception, Ctrl-C or SIGTERM (``harness.interrupts``: a second signal cannot cut the
teardown short) -- faults are healed, logs collected (into ``log_dir`` when
given) and every process / container / network / proxy of the run removed.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.cluster.base import Backend, Pausable, capabilities_of
from harness.cluster.rundir import RunDir, check_run_id, new_run_id
from harness.errors import BadInput, InfrastructureError
from harness.interrupts import hold, shielded, trapped
from harness.net.mesh import Mesh
from harness.net.toxiproxy import ToxiproxyApi
from harness.target import Addr, NodeContext, Target

BACKENDS = ("local", "docker", "auto")


@dataclass
class Cluster:
    """A running cluster; see the module docstring. Construct only through ``open_cluster``."""

    run_id: str
    backend: Backend
    net: Mesh
    contexts: dict[str, NodeContext]
    capabilities: frozenset[str]
    _stopped: set[str] = field(default_factory=set)

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.net.topology.nodes

    @property
    def client_addrs(self) -> dict[str, Addr]:
        return dict(self.net.client_addrs)

    def _need(self, cap: str, node: str) -> None:
        if cap not in self.capabilities:
            raise BadInput(f"{cap}: the {self.backend.name} backend cannot {cap} nodes")
        if node not in self.contexts:
            raise BadInput(f"{cap}: unknown node {node!r}; valid nodes: {', '.join(self.nodes)}")

    def wait_ready(self, timeout: float = 30, nodes: tuple[str, ...] | None = None) -> float:
        """Wait until every (given) node accepts TCP connections; returns the seconds it took."""
        start = time.monotonic()
        pending = list(nodes or self.nodes)
        while pending:
            node = pending[0]
            if not self.backend.running(node):
                tail = self.backend.logs().get(node, "").strip().splitlines()[-3:]
                raise InfrastructureError(
                    f"node {node} exited while starting: {' | '.join(tail) or 'no output'}"
                )
            addr = self.backend.direct_addr(node)
            try:
                with socket.create_connection((addr.host, addr.port), timeout=0.5):
                    pending.pop(0)
                    continue
            except OSError:
                pass
            if time.monotonic() - start > timeout:
                raise InfrastructureError(
                    f"nodes {', '.join(pending)} did not accept connections within {timeout:g} s"
                )
            time.sleep(0.01)
        return time.monotonic() - start

    def kill(self, node: str) -> None:
        self._need("kill", node)
        self.backend.kill(node)  # type: ignore[attr-defined]

    def restart(self, node: str) -> None:
        """Crash the node and start it again with its data dir intact."""
        self._need("restart", node)
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
    if name not in BACKENDS:
        raise BadInput(f"backend {name!r}: unknown; valid backends: {', '.join(BACKENDS)}")
    if name in ("docker", "auto"):
        from harness.cluster.docker import DockerBackend, docker_reachable

        if name == "docker" or docker_reachable():
            return DockerBackend(run)
    from harness.cluster.local import LocalBackend

    return LocalBackend(run, base_port=base_port)


def _teardown(cluster_net: Mesh | None, backend: Backend, run: RunDir, log_dir: Path | None) -> None:
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
            if cluster_net is not None:
                cluster_net.api.close()
            run.remove()


@contextlib.contextmanager
def open_cluster(
    target: Target | str,
    nodes: int = 3,
    backend: str = "local",
    flags: frozenset[str] = frozenset(),
    options: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    log_dir: str | Path | None = None,
    base_port: int | None = None,
) -> Iterator[Cluster]:
    """Start a cluster of ``target`` on ``backend`` (``local``, ``docker`` or ``auto``); removed on exit.

    ``base_port`` (local backend only) uses consecutive fixed ports from there instead of free ones.
    """
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= 32:
        raise BadInput(f"nodes {nodes!r}: expected a whole number between 1 and 32")
    if backend not in BACKENDS:
        raise BadInput(f"backend {backend!r}: unknown; valid backends: {', '.join(BACKENDS)}")
    tgt = _resolve_target(target)
    opts = dict(options or {})
    topology = tgt.topology(nodes, opts)
    rid = check_run_id(run_id) if run_id else new_run_id()
    with trapped():
        run = RunDir.create(rid, owner_log_dir=log_dir)
        mesh: Mesh | None = None
        be: Backend | None = None
        try:
            be = make_backend(backend, run, base_port)
            api = ToxiproxyApi(be.start_toxiproxy())
            api.wait_ready(timeout=15)
            addrs = {n: be.node_addrs(n) for n in topology.nodes}
            hosts = be.proxy_hosts()
            mesh = Mesh.build(
                api,
                topology,
                {n: a.upstream for n, a in addrs.items()},
                hosts.listen_host,
                be.proxy_port,
                hosts.node_host,
                hosts.client_host,
            )
            contexts = {}
            for n in topology.nodes:
                ctx = NodeContext(
                    node=n,
                    nodes=topology.nodes,
                    listen=addrs[n].listen,
                    peers=dict(mesh.peer_addrs[n]),
                    data_dir=f"{be.data_root}/{n}",
                    flags=frozenset(flags),
                    options=opts,
                )
                contexts[n] = ctx
                be.start_node(ctx, tgt.node_spec(ctx))
                hold("start-up")
            caps = capabilities_of(be) | {"partition", "link"}
            allowed = getattr(tgt, "capabilities", None)
            if allowed is not None:
                caps &= frozenset(allowed)
            yield Cluster(rid, be, mesh, contexts, caps)
        finally:
            if be is not None:
                _teardown(mesh, be, run, Path(log_dir) if log_dir is not None else None)
            else:
                with shielded():
                    run.remove()
