"""Kubernetes backend benchmark (not a test): the same measurements on kubernetes and on docker, same run.

    .venv/bin/python bench/kube_bench.py [--repeat 3]

For each backend: seconds from ``open_cluster`` to every node answering a ping, for 3 and 5 nodes; on 5 nodes
the time to apply and to heal a partition as packet filters (halves, isolate; blackhole), and a kill of one
node followed by its start until it answers again. The docker figures are the reference: each kubernetes
figure is printed with its ratio to docker's, measured in the same run, on the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos_targets.echo.target import EchoTarget  # noqa: E402
from harness.net.grudge import halves, isolate  # noqa: E402
from harness.platform import open_cluster  # noqa: E402

BACKENDS = ("docker", "kubernetes")


def answering(cluster: object, target: EchoTarget, nodes: tuple[str, ...], t0: float) -> None:
    client = target.client(cluster.client_addrs, 0, timeout=1.0)  # type: ignore[attr-defined]
    pending = set(nodes)
    while pending:
        pending = {n for n in pending if client.invoke("ping", n).type != "ok"}
        if time.perf_counter() - t0 > 120:
            raise SystemExit(f"nodes {pending} not answering after 120 s")


def startup(backend: str, nodes: int, repeat: int) -> float:
    target, times = EchoTarget(), []
    for _ in range(repeat):
        t = time.perf_counter()
        with open_cluster(target, nodes=nodes, backend=backend) as cluster:
            answering(cluster, target, cluster.nodes, t)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def faults(backend: str, repeat: int) -> dict[str, float]:
    target = EchoTarget()
    out: dict[str, list[float]] = {}
    with open_cluster(target, nodes=5, backend=backend) as cluster:
        cluster.wait_ready(60)
        shapes = {"halves": halves(cluster.nodes), "isolate": isolate(cluster.nodes, "n3")}
        for _ in range(repeat):
            for name, grudge in shapes.items():
                out.setdefault(f"apply {name}", []).append(timed(lambda g=grudge: cluster.net.partition(g)))  # type: ignore[misc]
                out.setdefault(f"heal {name}", []).append(timed(cluster.net.heal))
            t = time.perf_counter()
            cluster.kill("n2")
            cluster.start("n2")
            answering(cluster, target, ("n2",), t)
            out.setdefault("kill + start n2 until answering", []).append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    figures: dict[str, dict[str, float]] = {b: {} for b in BACKENDS}
    for backend in BACKENDS:  # alternate per measurement so a load change hits both alike
        for n in (3, 5):
            figures[backend][f"start {n} nodes -> all answering"] = startup(backend, n, args.repeat)
    for backend in BACKENDS:
        figures[backend].update(faults(backend, max(args.repeat, 5)))
    print(f"{'measurement':<38} {'docker':>10} {'kubernetes':>12}  ratio")
    for what, ref in figures["docker"].items():
        k = figures["kubernetes"][what]
        print(f"{what:<38} {ref * 1000:8.1f} ms {k * 1000:10.1f} ms  {k / ref:5.2f}x")


if __name__ == "__main__":
    main()
