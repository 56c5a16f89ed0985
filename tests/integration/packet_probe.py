"""A probe target for packet-level tests: each node answers TCP on port ``tcp`` and counts UDP datagrams on
port ``udp``; ``Prober`` measures, from inside every node, which peers it reaches (TCP connect, UDP delivery).

The node program is an inline ``python3 -c`` script (standard library only), so it runs from the bundled
target image with nothing added. Over TCP the host asks a node ``count TOKEN`` (how many datagrams carrying
TOKEN it received) or ``ping``. Probes run in the source node's container (``docker exec``, or the kubernetes
pod's supervisor), so the traffic really leaves that node's namespace (never local: Toxiproxy carries no UDP).
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.target import Addr, NodeContext, NodeSpec, Topology

NODE = r"""
import collections, socket, sys, threading
tcp_port, udp_port = int(sys.argv[1]), int(sys.argv[2])
host = sys.argv[3]
seen = collections.Counter()
def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((host, udp_port))
    while True:
        data, _ = u.recvfrom(2048); seen[data.decode(errors="replace")] += 1
threading.Thread(target=udp, daemon=True).start()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, tcp_port)); s.listen(64)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(2)
    try:
        line = c.makefile().readline().strip()
        if line.startswith("count "):
            c.sendall(f"{seen[line[6:]]}\n".encode())
        else:
            c.sendall(b"pong\n")
    except OSError:
        pass
    finally:
        c.close()
"""

PROBE = r"""
import json, socket, sys, threading
token, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
peers = json.loads(sys.argv[4])
out = {}
def tcp(name, host, port):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            out[name] = "ok"
    except ConnectionRefusedError:
        out[name] = "refused"
    except OSError as e:
        out[name] = type(e).__name__
ts = [threading.Thread(target=tcp, args=(p, h, a["tcp"])) for p, (h, a) in peers.items()]
for t in ts: t.start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p, (h, a) in peers.items():
    for _ in range(n):
        try:
            u.sendto(token.encode(), (h, a["udp"]))
        except OSError:
            pass
for t in ts: t.join()
print(json.dumps(out))
"""


class ProbeTarget:
    name = "packet-probe"
    planted_bugs: frozenset[str] = frozenset()
    ports = {"tcp": 7000, "udp": 7001}

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        return Topology.full_mesh([f"n{i}" for i in range(1, nodes + 1)])

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        argv = ("python3", "-c", NODE, str(ctx.ports["tcp"]), str(ctx.ports["udp"]), ctx.listen.host)
        return NodeSpec(argv)

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> Any:
        raise NotImplementedError("the probe target is driven by Prober, not by workers")


def ask(addr: Addr, line: str, timeout: float = 2.0) -> str:
    with socket.create_connection((addr.host, addr.port), timeout=timeout) as s:
        s.sendall(line.encode() + b"\n")
        return s.makefile().readline().strip()


class Prober:
    """Reachability between every ordered pair of nodes, by TCP connect and by UDP delivery."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.nodes: tuple[str, ...] = cluster.nodes

    def _from(self, src: str, token: str, datagrams: int, timeout: float) -> dict[str, str]:
        peers = {
            p: (ctx_addr.host, {name: a.port for name, a in self.cluster.contexts[src].peer_addrs[p].items()})
            for p, ctx_addr in ((p, self.cluster.contexts[src].peers[p]) for p in self.nodes if p != src)
        }
        argv = ["python3", "-c", PROBE, token, str(datagrams), str(timeout), json.dumps(peers)]
        backend = self.cluster.backend
        if hasattr(backend, "exec_output"):  # kubernetes: through the node's supervisor
            _, output = backend.exec_output(src, argv)
        else:  # docker (UDP has no proxy, so never local)
            output = backend._c(src).exec_run(argv, user="65534:65534").output.decode()
        return dict(json.loads(output.strip().splitlines()[-1]))

    def udp_count(self, dst: str, token: str) -> int:
        return int(ask(self.cluster.client_ports[dst]["tcp"], f"count {token}"))

    def tcp_matrix(self, timeout: float = 0.7) -> dict[tuple[str, str], str]:
        """tcp[a, b] = result of a connecting to b (no question to the host: works while clients are cut)."""
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            found = list(pool.map(lambda src: (src, self._from(src, "-", 0, timeout)), self.nodes))
        return {(src, dst): res for src, results in found for dst, res in results.items()}

    def matrix(self, timeout: float = 0.7) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], bool]]:
        """``(tcp, udp)``: tcp[a, b]: a connecting to b; udp[a, b]: a datagram from a reached b."""
        tcp: dict[tuple[str, str], str] = {}
        tokens = {src: secrets.token_hex(4) for src in self.nodes}
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            found = list(pool.map(lambda src: (src, self._from(src, tokens[src], 3, timeout)), self.nodes))
        for src, results in found:
            for dst, res in results.items():
                tcp[src, dst] = res
        udp = {
            (src, dst): self.udp_count(dst, tokens[src]) > 0
            for src in self.nodes
            for dst in self.nodes
            if src != dst
        }
        return tcp, udp

    def udp_share(self, src: str, dst: str, datagrams: int) -> float:
        """The share of ``datagrams`` sent from src that reached dst."""
        token = secrets.token_hex(4)
        self._from(src, token, datagrams, 0.3)
        return self.udp_count(dst, token) / datagrams
