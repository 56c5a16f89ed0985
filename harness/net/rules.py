"""Packet filter rules for a network state, as ``iptables-restore`` text per node (pure, no I/O).

The docker backend's ``PacketNet`` (``harness.net.packet``) turns the faults in force -- a grudge, cut client
links, lossy links -- into one ruleset per node and loads it into that node's network namespace in one
``iptables-restore`` (atomic: the whole filter table is replaced, so heal is an empty table). Rules sit at the
*receiver*: the directed link ``a -> b`` is cut by dropping, in b's namespace, packets whose source is a's
address. So a blackhole looks like one to the sender (nothing comes back, no local error), a one-way cut lets
b still send to a (UDP from b arrives; a TCP connection from b cannot complete, since a's answers are
dropped), and the host's clients are cut from b by dropping packets from the client address as b sees it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

EMPTY = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"


@dataclass(frozen=True)
class PacketState:
    """What the packet filters must enforce. Links are ``(src, dst)``; ``src`` may be ``client``.

    ``grudge``: peer links cut (``b in grudge[a]``: a cannot reach b). ``cut``: further directed links cut
    (client links included). ``loss``: directed link -> probability that a packet on it is dropped.
    ``mode``: ``blackhole`` (drop) or ``refuse`` (TCP reset / ICMP port unreachable, so senders fail fast).
    """

    grudge: Mapping[str, frozenset[str]] = field(default_factory=dict)
    cut: frozenset[tuple[str, str]] = frozenset()
    loss: Mapping[tuple[str, str], float] = field(default_factory=dict)
    mode: str = "blackhole"

    def cut_links(self) -> frozenset[tuple[str, str]]:
        return frozenset((a, b) for a, bs in self.grudge.items() for b in bs if a != b) | self.cut


def _verdicts(mode: str) -> list[str]:
    if mode == "refuse":
        return ["-p tcp -j REJECT --reject-with tcp-reset", "-j REJECT --reject-with icmp-port-unreachable"]
    return ["-j DROP"]


def node_rules(node: str, state: PacketState, addr_of: Mapping[str, str]) -> list[str]:
    """The INPUT rules of ``node``'s namespace (without the table header), in a stable order."""
    out: list[str] = []
    for src, dst in sorted(state.cut_links()):
        if dst == node and src in addr_of:
            ip = f"-A INPUT -s {addr_of[src]}/32"
            if state.mode == "refuse":
                # the refusals coming back (a reset, port unreachable) must pass, or a two-way cut hangs
                out.append(f"{ip} -p tcp --tcp-flags RST RST -j ACCEPT")
                out.append(f"{ip} -p icmp --icmp-type destination-unreachable -j ACCEPT")
            out += [f"{ip} {v}" for v in _verdicts(state.mode)]
    for (src, dst), p in sorted(state.loss.items()):
        if dst == node and src in addr_of and (src, dst) not in state.cut_links() and p > 0:
            out.append(
                f"-A INPUT -s {addr_of[src]}/32 -m statistic --mode random --probability {p:.6f} -j DROP"
            )
    return out


def rulesets(nodes: Iterable[str], state: PacketState, addr_of: Mapping[str, str]) -> dict[str, str]:
    """``iptables-restore`` input per node: the whole filter table (accept-all policies plus the cuts)."""
    out = {}
    for n in nodes:
        rules = node_rules(n, state, addr_of)
        out[n] = EMPTY if not rules else EMPTY.replace("COMMIT\n", "\n".join(rules) + "\nCOMMIT\n")
    return out
