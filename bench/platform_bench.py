"""Platform benchmark (not a test): cluster start-up and fault apply / heal times, printed.

    .venv/bin/python bench/platform_bench.py [--backends local,docker] [--repeat 3]

For each backend: seconds from ``open_cluster`` to every node answering a ping (local: through its client
proxy; docker: directly), for 3 and 5 nodes; then on a 5-node mesh (docker: peer and client links proxied),
the time to apply and to heal a partition (blackhole and refuse) and a latency fault on every link. On docker
also the packet-level faults on 5 nodes with no proxies: apply / heal a partition (halves, isolate, one-way)
as ``iptables-restore`` into each node's namespace, loaded through the sandboxes' agents (the default) and,
for comparison, from the host with nsenter and with ``docker exec`` in the sandboxes. References measured in
the same run: starting one bare ``python3 -c pass`` (start-up), one Toxiproxy API round trip (mesh faults)
and one ``docker exec true`` (packet faults); ratios are printed beside the times.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos_targets.echo.target import EchoTarget  # noqa: E402
from harness.cluster.docker import nsenter_usable  # noqa: E402
from harness.net.grudge import halves, isolate, one_way  # noqa: E402
from harness.platform import open_cluster  # noqa: E402


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def apply_heal(apply: Callable[[], object], heal: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median seconds of ``apply`` and of ``heal``, alternated (each apply starts from a healed network)."""
    a, h = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        apply()
        a.append(time.perf_counter() - t)
        t = time.perf_counter()
        heal()
        h.append(time.perf_counter() - t)
    return statistics.median(a), statistics.median(h)


def startup(backend: str, nodes: int, repeat: int) -> float:
    target = EchoTarget()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        with open_cluster(target, nodes=nodes, backend=backend) as cluster:
            client = target.client(cluster.client_addrs, 0, timeout=1.0)
            pending = set(cluster.nodes)
            while pending:
                pending = {n for n in pending if client.invoke("ping", n).type != "ok"}
                if time.perf_counter() - t > 60:
                    raise SystemExit(f"{backend}: nodes {pending} not answering after 60 s")
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def faults(backend: str, repeat: int) -> dict[str, float]:
    out = {}
    with open_cluster(EchoTarget(), nodes=5, backend=backend, proxies=("peers", "clients")) as cluster:
        cluster.wait_ready(30)
        net = cluster.net
        out["api round trip (ref)"] = median_time(net.api.version, repeat)
        grudge = halves(cluster.nodes)
        for mode in ("blackhole", "refuse"):
            out[f"apply partition {mode}"] = median_time(lambda m=mode: net.partition(grudge, m), repeat)  # type: ignore[misc]
            out[f"heal partition {mode}"] = median_time(net.heal, repeat)
        out["apply latency on all 20 links"] = median_time(lambda: net.link(None, None, latency=100), repeat)
        out["heal latency"] = median_time(net.heal, repeat)
    return out


def packet_faults(repeat: int) -> dict[str, float]:
    """Docker, 5 nodes, every link direct: partitions as packet filter rules."""
    out: dict[str, float] = {}
    with open_cluster(EchoTarget(), nodes=5, backend="docker") as cluster:
        cluster.wait_ready(30)
        net, be = cluster.net, cluster.backend
        sandbox = be._sandboxes["n1"]  # type: ignore[attr-defined]
        out["docker exec true (ref)"] = median_time(lambda: sandbox.exec_run(["true"]), repeat)
        nodes = cluster.nodes
        shapes = {
            "halves": halves(nodes),
            "isolate": isolate(nodes, "n3"),
            "one-way": one_way(nodes, ["n1", "n2"], ["n4", "n5"]),
        }
        # (loader, nsenter, agent): nsenter from the host (root, local engine), the sandboxes' agents, exec
        loaders = [("agent", False, True), ("docker exec", False, False)]
        if nsenter_usable():
            loaders.insert(1, ("nsenter", True, False))
        for loader, via_nsenter, via_agent in loaders:
            be.use_nsenter, be.use_agent = via_nsenter, via_agent  # type: ignore[attr-defined]
            for name, grudge in shapes.items():
                for mode in ("blackhole", "refuse"):
                    apply, heal = apply_heal(lambda g=grudge, m=mode: net.partition(g, m), net.heal, repeat)  # type: ignore[misc]
                    out[f"{loader}: apply {name} {mode}"] = apply
                    out[f"{loader}: heal {name} {mode}"] = heal
            links = [(a, b) for a in nodes for b in nodes if a != b]
            apply, heal = apply_heal(lambda ls=links: net.loss(ls, 0.3), net.heal, repeat)  # type: ignore[attr-defined]
            out[f"{loader}: apply loss 0.3 on 20 links"] = apply
            out[f"{loader}: heal loss"] = heal
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="local,docker")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    ref = median_time(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.repeat)
    print(f"reference: one bare python start {ref * 1000:.0f} ms")
    for backend in args.backends.split(","):
        for n in (3, 5):
            s = startup(backend, n, args.repeat)
            print(
                f"{backend:>6} start {n} nodes -> all answering: {s * 1000:7.0f} ms  "
                f"({s / ref:5.1f}x python start)"
            )
        f = faults(backend, max(args.repeat, 5))
        rt = f["api round trip (ref)"]
        for what, secs in f.items():
            print(f"{backend:>6} 5-node {what:<32} {secs * 1000:7.2f} ms  ({secs / rt:5.1f}x api round trip)")
        if backend == "docker":
            pf = packet_faults(max(args.repeat, 5))
            ex = pf["docker exec true (ref)"]
            for what, secs in pf.items():
                print(
                    f"docker 5-node packet {what:<38} {secs * 1000:7.2f} ms  ({secs / ex:5.2f}x docker exec)"
                )


if __name__ == "__main__":
    main()
