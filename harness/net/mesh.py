"""The Toxiproxy mesh of one run: one proxy per directed peer link and per client -> node link.

``Mesh.build`` creates every proxy in one ``/populate`` request, so bringing up a 5-node mesh (20 peer links +
5 client links) is a single round trip; partitions and link faults are then a handful of small requests, and
``heal`` is one ``/reset``. Node i reaches node j at ``peer_addrs[i][j]`` (the proxy ``i_to_j``); clients
reach node j at ``client_addrs[j]`` (the proxy ``client_to_j``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.errors import BadInput, InfrastructureError
from harness.net.base import CLIENT, check_mode, check_stream, link_attributes
from harness.net.grudge import Grudge, cut_links, validate
from harness.net.toxiproxy import ProxyDef, ToxiproxyApi
from harness.target import Addr, Topology

Link = tuple[str, str]


def proxy_name(src: str, dst: str) -> str:
    return f"{src}_to_{dst}"


def _port(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


class Mesh:
    """A run's proxies plus the fault state applied to them (implements ``harness.net.base.Net``)."""

    def __init__(
        self,
        api: ToxiproxyApi,
        topology: Topology,
        peer_addrs: Mapping[str, Mapping[str, Addr]],
        client_addrs: Mapping[str, Addr],
    ) -> None:
        self.api = api
        self.topology = topology
        self.peer_addrs = {a: dict(m) for a, m in peer_addrs.items()}
        self.client_addrs = dict(client_addrs)
        self._grudge: dict[str, frozenset[str]] = {}
        self._mode = "blackhole"
        self._links: dict[Link, set[str]] = {}  # link -> toxic names on it

    @classmethod
    def build(
        cls,
        api: ToxiproxyApi,
        topology: Topology,
        upstream: Mapping[str, Addr],
        listen_host: str,
        port_for: Callable[[int], int],
        node_host: str,
        client_host: str,
    ) -> Mesh:
        """Create all proxies; ``port_for(i)`` is the i-th proxy's listen port (0: let Toxiproxy pick)."""
        links: list[Link] = list(topology.links) + [(CLIENT, n) for n in topology.client_nodes]
        defs = [
            ProxyDef(proxy_name(a, b), f"{listen_host}:{port_for(i)}", str(upstream[b]))
            for i, (a, b) in enumerate(links)
        ]
        listening = api.populate(defs)
        missing = [d.name for d in defs if d.name not in listening]
        if missing:
            raise InfrastructureError(f"toxiproxy at {api.addr} did not create proxies {', '.join(missing)}")
        peers: dict[str, dict[str, Addr]] = {n: {} for n in topology.nodes}
        clients: dict[str, Addr] = {}
        for a, b in links:
            port = _port(listening[proxy_name(a, b)])
            if a == CLIENT:
                clients[b] = Addr(client_host, port)
            else:
                peers[a][b] = Addr(node_host, port)
        return cls(api, topology, peers, clients)

    @property
    def grudge(self) -> dict[str, frozenset[str]]:
        return dict(self._grudge)

    def _undo_partition(self) -> None:
        for a, b in sorted(cut_links(self._grudge)):
            if self._mode == "refuse":
                self.api.set_enabled(proxy_name(a, b), True)
            else:
                for stream in ("upstream", "downstream"):
                    self.api.remove_toxic(proxy_name(a, b), f"partition_{stream}")
        self._grudge = {}

    def partition(self, grudge: Grudge, mode: str = "blackhole") -> None:
        mode = check_mode(mode)
        new = validate(self.topology.nodes, grudge)
        self._undo_partition()
        for a, b in sorted(cut_links(new)):
            if (a, b) not in set(self.topology.links):
                continue  # the target has no such link: nothing flows there to cut
            if mode == "refuse":
                self.api.set_enabled(proxy_name(a, b), False)
            else:
                for stream in ("upstream", "downstream"):
                    self.api.add_toxic(
                        proxy_name(a, b), f"partition_{stream}", "timeout", {"timeout": 0}, stream
                    )
        self._grudge, self._mode = new, mode

    def _select(self, src: str | None, dst: str | None) -> list[Link]:
        all_links: list[Link] = list(self.topology.links) + [(CLIENT, n) for n in self.topology.client_nodes]
        for end, name in (("src", src), ("dst", dst)):
            valid = (CLIENT, *self.topology.nodes) if end == "src" else self.topology.nodes
            if name is not None and name not in valid:
                raise BadInput(f"link {end} {name!r}: expected one of {', '.join(valid)} (or None for all)")
        if src is None:
            chosen = [(a, b) for a, b in all_links if a != CLIENT and (dst is None or b == dst)]
        else:
            chosen = [(a, b) for a, b in all_links if a == src and (dst is None or b == dst)]
        if not chosen:
            raise BadInput(f"link {src} -> {dst}: the target's topology has no such link")
        return chosen

    def link(
        self, src: str | None, dst: str | None, kind: str = "latency", stream: str = "upstream", **attrs: Any
    ) -> None:
        attributes = link_attributes(kind, attrs)
        streams = check_stream(stream)
        for link in self._select(src, dst):
            names = self._links.setdefault(link, set())
            for s in streams:
                toxic = f"{kind}_{s}"
                if toxic in names:
                    self.api.remove_toxic(proxy_name(*link), toxic)
                self.api.add_toxic(proxy_name(*link), toxic, kind, attributes, s)
                names.add(toxic)

    @property
    def links(self) -> dict[Link, frozenset[str]]:
        """The toxics in force per link (partitions excluded)."""
        return {k: frozenset(v) for k, v in self._links.items() if v}

    def heal(self) -> None:
        self.api.reset()
        self._grudge = {}
        self._links = {}

    def reachable(self, src: str, dst: str) -> bool:
        """Whether the fault state lets ``src`` reach ``dst`` (what the mesh was told, not a probe)."""
        return dst not in self._grudge.get(src, frozenset())
