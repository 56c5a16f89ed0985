"""``local-nopause``: nodes as host processes, like the bundled ``local`` backend, but nodes cannot be frozen.

A backend is a class implementing ``harness.cluster.base.Backend``, constructed as ``cls(run)`` (plus
``base_port=`` when a caller asks for fixed ports). What else it can do is read from the protocols it
implements, never from its name: this one implements ``Killable`` (``kill``) and ``NodeStates``
(``states``) but not ``Pausable``, so its clusters do not offer ``pause``, and a run that schedules a pause
fault is refused with the reason before its workload starts. It does not build its own network
(``NetworkHost``), so the harness routes every link through Toxiproxy proxies and partitions them there.

It delegates to the bundled local backend, the shortest honest way to place processes; a backend of your own
(VMs, Kubernetes, ...) implements the same methods against its own machinery.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.cluster.base import NodeAddrs, ProxyHosts
from harness.cluster.local import LocalBackend
from harness.cluster.rundir import RunDir
from harness.target import Addr, NodeContext, NodeSpec


class NoPauseBackend:
    """The ``Backend`` protocol, plus ``kill`` and ``states``; no ``pause`` / ``resume``."""

    name = "local-nopause"

    def __init__(self, run: RunDir, base_port: int | None = None) -> None:
        self._local = LocalBackend(run, base_port=base_port)
        self.data_root = self._local.data_root

    # placing the run: Toxiproxy, proxies, nodes
    def start_toxiproxy(self) -> Addr:
        return self._local.start_toxiproxy()

    def proxy_hosts(self) -> ProxyHosts:
        return self._local.proxy_hosts()

    def proxy_port(self, index: int) -> int:
        return self._local.proxy_port(index)

    def node_addrs(self, node: str, ports: Mapping[str, int]) -> NodeAddrs:
        return self._local.node_addrs(node, ports)

    def start_node(self, ctx: NodeContext, spec: NodeSpec) -> None:
        self._local.start_node(ctx, spec)

    def direct_addr(self, node: str, port: str | None = None) -> Addr:
        return self._local.direct_addr(node, port)

    def run_command(self, node: str, argv: tuple[str, ...], env: Mapping[str, str], timeout: float) -> int:
        return self._local.run_command(node, argv, env, timeout)

    # process controls: stop / start (every backend), kill (Killable); no pause
    def stop(self, node: str) -> None:
        self._local.stop(node)

    def start(self, node: str) -> None:
        self._local.start(node)

    def kill(self, node: str) -> None:
        self._local.kill(node)

    # what the harness reads
    def running(self, node: str) -> bool:
        return self._local.running(node)

    def states(self) -> dict[str, str]:
        return self._local.states()

    def logs(self) -> dict[str, str]:
        return self._local.logs()

    def close(self) -> None:
        self._local.close()
