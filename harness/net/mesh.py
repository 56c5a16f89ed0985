"""The Toxiproxy mesh of one run: one proxy per directed peer link and per client -> node link.

``Mesh.build`` creates every proxy in one ``/populate`` request, so bringing up a 5-node mesh (20 peer links +
5 client links) is a single round trip; partitions and link faults are then a handful of small requests, and
``heal`` is one ``/reset``. Node i reaches node j at ``peer_addrs[i][j]`` (the proxy ``i_to_j``); clients
reach node j at ``client_addrs[j]`` (the proxy ``client_to_j``). A target with several named ports gets one
proxy per link and per port: the first port's keeps the plain name, the others are ``i_to_j__<port>``; every
port's proxy is in ``peer_ports[i][j][port]`` / ``client_ports[j][port]``, and faults on a link act on all of
them. ``peer_links`` / ``client_links`` False leave that class of link out (the docker backend then routes it
directly and cuts it with packet filters, see ``harness.net.packet``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.errors import BadInput, InfrastructureError
from harness.names import CLIENT
from harness.net.base import check_mode, check_stream, link_attributes
from harness.net.grudge import Grudge, cut_links, validate
from harness.net.toxiproxy import ProxyDef, ToxiproxyApi
from harness.target import Addr, Topology

Link = tuple[str, str]


def proxy_name(src: str, dst: str, port: str | None = None) -> str:
    return f"{src}_to_{dst}" if port is None else f"{src}_to_{dst}__{port}"


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
        self.peer_ports: dict[str, dict[str, dict[str, Addr]]] = {a: {} for a in self.peer_addrs}
        self.client_ports: dict[str, dict[str, Addr]] = {}
        self._proxies: dict[Link, list[str]] = {}  # link -> its proxies (one per named port)
        self.links_proxied: frozenset[Link] = frozenset(
            list(topology.links) + [(CLIENT, n) for n in topology.client_nodes]
        )

    @classmethod
    def build(
        cls,
        api: ToxiproxyApi,
        topology: Topology,
        upstream: Mapping[str, Addr | Mapping[str, Addr]],
        listen_host: str,
        port_for: Callable[[int], int],
        node_host: str,
        client_host: str,
        *,
        peer_links: bool = True,
        client_links: bool = True,
    ) -> Mesh:
        """Create all proxies; ``port_for(i)`` is the i-th proxy's listen port (0: let Toxiproxy pick).

        ``upstream[n]`` is node n's address, or its named ports' addresses (the first is the client port).
        """
        ups = {n: u if isinstance(u, Mapping) else {"": u} for n, u in upstream.items()}
        links: list[Link] = (list(topology.links) if peer_links else []) + (
            [(CLIENT, n) for n in topology.client_nodes] if client_links else []
        )
        named: list[tuple[Link, str, str]] = []  # (link, port name, proxy name)
        for a, b in links:
            for k, port in enumerate(ups[b]):
                named.append(((a, b), port, proxy_name(a, b, None if k == 0 else port)))
        defs = [
            ProxyDef(name, f"{listen_host}:{port_for(i)}", str(ups[link[1]][port]))
            for i, (link, port, name) in enumerate(named)
        ]
        listening = api.populate(defs) if defs else {}
        missing = [d.name for d in defs if d.name not in listening]
        if missing:
            raise InfrastructureError(f"toxiproxy at {api.addr} did not create proxies {', '.join(missing)}")
        peers: dict[str, dict[str, Addr]] = {n: {} for n in topology.nodes}
        clients: dict[str, Addr] = {}
        peer_ports: dict[str, dict[str, dict[str, Addr]]] = {n: {} for n in topology.nodes}
        client_ports: dict[str, dict[str, Addr]] = {}
        proxies: dict[Link, list[str]] = {}
        for (a, b), port, name in named:
            proxies.setdefault((a, b), []).append(name)
            at = _port(listening[name])
            first = len(proxies[(a, b)]) == 1
            if a == CLIENT:
                client_ports.setdefault(b, {})[port] = Addr(client_host, at)
                if first:
                    clients[b] = Addr(client_host, at)
            else:
                peer_ports[a].setdefault(b, {})[port] = Addr(node_host, at)
                if first:
                    peers[a][b] = Addr(node_host, at)
        mesh = cls(api, topology, peers, clients)
        mesh.peer_ports, mesh.client_ports, mesh._proxies = peer_ports, client_ports, proxies
        mesh.links_proxied = frozenset(links)
        return mesh

    def offers(self) -> frozenset[str]:
        """Partitions (proxies cut) and link toxics (on the proxied links)."""
        return frozenset({"partition", "link"})

    def _names(self, a: str, b: str) -> list[str]:
        return self._proxies.get((a, b)) or [proxy_name(a, b)]

    @property
    def grudge(self) -> dict[str, frozenset[str]]:
        return dict(self._grudge)

    def _undo_partition(self) -> None:
        for a, b in sorted(cut_links(self._grudge)):
            if (a, b) not in self.links_proxied:
                continue
            for name in self._names(a, b):
                if self._mode == "refuse":
                    self.api.set_enabled(name, True)
                else:
                    for stream in ("upstream", "downstream"):
                        self.api.remove_toxic(name, f"partition_{stream}")
        self._grudge = {}

    def partition(self, grudge: Grudge, mode: str = "blackhole") -> None:
        mode = check_mode(mode)
        new = validate(self.topology.nodes, grudge)
        self._undo_partition()
        for a, b in sorted(cut_links(new)):
            if (a, b) not in self.links_proxied:
                continue  # no proxy on that link (the target has none, or it is cut by packet filters)
            for name in self._names(a, b):
                if mode == "refuse":
                    self.api.set_enabled(name, False)
                else:
                    for stream in ("upstream", "downstream"):
                        self.api.add_toxic(name, f"partition_{stream}", "timeout", {"timeout": 0}, stream)
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
        direct = [x for x in chosen if x not in self.links_proxied]
        if direct:
            a, b = direct[0]
            raise BadInput(
                f"link {a} -> {b}: this run reaches it directly, not through a Toxiproxy proxy, so toxics "
                "cannot act on it (the runner routes a class of links through proxies only when the "
                "experiment schedules link faults on it); packet-level faults (partition, packet-loss) work"
            )
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
                for name in self._names(*link):
                    if toxic in names:
                        self.api.remove_toxic(name, toxic)
                    self.api.add_toxic(name, toxic, kind, attributes, s)
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
