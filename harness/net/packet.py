"""``PacketNet``: the docker backend's ``Net``, packet filters in each node's namespace, plus proxies if any.

Partitions stay data (a grudge); this turns them into ``iptables`` rules (``harness.net.rules``) and loads
one ruleset per node through ``load`` -- a callable the backend provides that writes ``{node: ruleset}`` into
the nodes' namespaces in parallel (nsenter from the host, or ``docker exec`` in the node's network sandbox).
Only nodes whose ruleset changes are touched, so heal after an isolate rewrites a few tables, not all.

``netem`` (delay, jitter, duplicate, reorder) shapes a node's egress to chosen peers with the kernel's
``sch_netem`` through ``shape`` (``tc`` in the node's namespace), only where ``netem_ok()`` says the kernel
has it; elsewhere it is refused with a clear error.

Links a run routes through Toxiproxy (``mesh``; only when the experiment puts toxics on them) are cut by the
mesh as well, so a partition holds whatever path the traffic takes; toxics (latency, bandwidth, ...) exist
only on those proxied links. ``loss`` drops a share of the packets of a direct link; ``cut`` cuts any
directed link, client links included (the client address is the host's address on the run's network).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from harness.errors import BadInput
from harness.names import CLIENT
from harness.net.base import check_mode
from harness.net.grudge import Grudge, validate
from harness.net.mesh import Mesh
from harness.net.netem import NETEM_MISSING, Netem, tc_script
from harness.net.rules import EMPTY, PacketState, rulesets
from harness.target import Topology

Loader = Callable[[Mapping[str, str]], None]
Shaper = Callable[[Mapping[str, str | None]], None]  # node -> tc script (None: clear the node's shaping)


class PacketNet:
    """A ``Net`` over packet filters (see the module docstring); ``addr_of`` includes ``client``."""

    def __init__(
        self,
        topology: Topology,
        addr_of: Mapping[str, str],
        load: Loader,
        mesh: Mesh | None,
        shape: Shaper | None = None,
        netem_ok: Callable[[], bool] | None = None,
    ) -> None:
        self.topology = topology
        self.shape = shape
        self.netem_ok = netem_ok or (lambda: False)
        self._shaped: set[str] = set()
        self.addr_of = dict(addr_of)
        self.load = load
        self.mesh = mesh
        self.state = PacketState()
        self._applied: dict[str, str] = {n: EMPTY for n in topology.nodes}
        self._dirty = False  # a load failed part-way: what the nodes hold is unknown

    def offers(self) -> frozenset[str]:
        """Partitions and packet loss always; netem where the kernel has it; link toxics on proxied links."""
        out = {"partition", "packet-loss"}
        if self.shape is not None and self.netem_ok():
            out.add("netem")
        if self.mesh is not None:
            out.add("link")
        return frozenset(out)

    # what a Mesh offers that callers read
    @property
    def api(self) -> Any:
        return self.mesh.api if self.mesh is not None else None

    @property
    def grudge(self) -> dict[str, frozenset[str]]:
        return dict(self.state.grudge)

    def _sync(self) -> None:
        wanted = rulesets(self.topology.nodes, self.state, self.addr_of)
        changed = {n: r for n, r in wanted.items() if self._applied.get(n) != r}
        if changed:
            self._dirty = True
            self.load(changed)
            self._applied.update(changed)
            self._dirty = False

    def _links(self, links: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
        out = set()
        valid_src = (CLIENT, *self.topology.nodes)
        for src, dst in links:
            if src not in valid_src:
                raise BadInput(f"link source {src!r}: expected one of {', '.join(valid_src)}")
            if dst not in self.topology.nodes:
                raise BadInput(f"link destination {dst!r}: expected one of {', '.join(self.topology.nodes)}")
            if src != dst:
                out.add((src, dst))
        return frozenset(out)

    def partition(self, grudge: Grudge, mode: str = "blackhole") -> None:
        mode = check_mode(mode)
        new = validate(self.topology.nodes, grudge)
        self.state = PacketState(new, self.state.cut, self.state.loss, mode)
        self._sync()
        if self.mesh is not None:
            self.mesh.partition(new, mode)

    def cut(self, links: Iterable[tuple[str, str]], mode: str = "blackhole") -> None:
        """Cut directed links (``("client", "n1")``: clients cannot reach n1) on top of the partition."""
        mode = check_mode(mode)
        chosen = self._links(links)
        self.state = PacketState(self.state.grudge, self.state.cut | chosen, self.state.loss, mode)
        self._sync()

    def loss(self, links: Iterable[tuple[str, str]], probability: float) -> None:
        """Drop each packet of the given directed links with ``probability`` (0 < p <= 1)."""
        if (
            isinstance(probability, bool)
            or not isinstance(probability, (int, float))
            or not 0 < probability <= 1
        ):
            raise BadInput(f"loss probability {probability!r}: expected a number in (0, 1]")
        losses = dict(self.state.loss)
        for link in self._links(links):
            losses[link] = float(probability)
        self.state = PacketState(self.state.grudge, self.state.cut, losses, self.state.mode)
        self._sync()

    def netem(self, links: Iterable[tuple[str, str]], setting: Netem) -> None:
        """Delay / jitter / duplicate / reorder the packets of directed links with the kernel's netem.

        ``(a, b)`` shapes a's egress to b; ``("client", b)`` shapes b's egress to the clients (its replies).
        One setting per sending node: a later call replaces that node's earlier one.
        """
        if self.shape is None or not self.netem_ok():
            raise BadInput(NETEM_MISSING)
        by_src: dict[str, set[str]] = {}
        for src, dst in self._links(links):
            sender, receiver = (dst, CLIENT) if src == CLIENT else (src, dst)
            by_src.setdefault(sender, set()).add(self.addr_of[receiver])
        self.shape({n: tc_script(setting, ips) for n, ips in by_src.items()})
        self._shaped |= set(by_src)

    def link(
        self, src: str | None, dst: str | None, kind: str = "latency", stream: str = "upstream", **attrs: Any
    ) -> None:
        if self.mesh is None:
            raise BadInput(
                f"link {kind} on {src or 'every node'} -> {dst or 'every node'}: this run reaches every link "
                "directly (no Toxiproxy proxies), so toxics cannot act; packet-level faults (partition, "
                "packet-loss) work here, and the runner adds proxies when an experiment schedules link faults"
            )
        self.mesh.link(src, dst, kind, stream, **attrs)

    def heal(self) -> None:
        self.state = PacketState()
        if self._dirty:
            self._applied = {n: "" for n in self.topology.nodes}  # unknown: rewrite every table
        self._sync()
        if self._shaped and self.shape is not None:
            self.shape({n: None for n in sorted(self._shaped)})
            self._shaped = set()
        if self.mesh is not None:
            self.mesh.heal()

    def reachable(self, src: str, dst: str) -> bool:
        """Whether the fault state lets ``src`` reach ``dst`` (what was applied, not a probe)."""
        return (src, dst) not in self.state.cut_links()

    @property
    def links(self) -> dict[tuple[str, str], frozenset[str]]:
        return self.mesh.links if self.mesh is not None else {}

    @property
    def client_addrs(self) -> dict[str, Any]:
        return dict(self.mesh.client_addrs) if self.mesh is not None else {}
