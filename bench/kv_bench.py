"""Benchmark of the KV target: operations per second and p50/p99 latency that one harness client process
records against a 3-node cluster with 10 concurrent workers and no faults.

    .venv/bin/python bench/kv_bench.py [--backend docker|local] [--seconds 10] [--workers 10]

The reference measured in the same run is a ``health`` round trip through the same proxies (no Raft, no disk):
the ratio says what consensus and fsync cost on top of the network path.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time

from drive import run_for  # noqa: E402 - bench/ is on sys.path when a script runs

from chaos_targets.kv.client import KvClient
from chaos_targets.kv.target import KvTarget
from chaos_targets.kv.workload import KvWorkload
from harness.platform import open_cluster


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def run(backend: str, seconds: float, workers: int) -> None:
    target = KvTarget()
    workload = KvWorkload({"keys": 3, "values": 5})
    with open_cluster(target, nodes=3, backend=backend) as cluster:
        cluster.wait_ready(timeout=60)
        probe = KvClient(cluster.client_addrs, 0, 2.0)
        deadline = time.monotonic() + 20
        while probe.invoke("write", {"key": "warm", "value": 0}).type != "ok":
            if time.monotonic() > deadline:
                raise SystemExit("kv_bench: no leader within 20 s")
            time.sleep(0.2)
        ref: list[float] = []
        for _ in range(300):
            t0 = time.perf_counter()
            probe.request({"op": "health"})
            ref.append(time.perf_counter() - t0)
        lat: list[list[float]] = [[] for _ in range(workers)]
        counts = {"ok": 0, "fail": 0, "info": 0}
        lock = threading.Lock()
        stop = threading.Event()

        def worker(w: int) -> None:
            client = KvClient(cluster.client_addrs, w, 2.0)
            plan = workload.plan(w, random.Random(w))
            while not stop.is_set():
                step = plan.next(None)
                if step is None:
                    return
                t0 = time.perf_counter()
                out = client.invoke(*step)
                lat[w].append(time.perf_counter() - t0)
                with lock:
                    counts[out.type] += 1
            client.close()

        elapsed = run_for(worker, workers, seconds, stop)
    all_lat = [x for xs in lat for x in xs]
    total = sum(counts.values())
    p50, p99 = percentile(all_lat, 0.5) * 1000, percentile(all_lat, 0.99) * 1000
    ref50 = statistics.median(ref) * 1000
    print(f"kv bench: backend={backend} nodes=3 workers={workers} seconds={elapsed:.1f} (no faults)")
    print(f"  ops: {total} ({counts['ok']} ok, {counts['fail']} fail, {counts['info']} info)")
    print(f"  throughput: {total / elapsed:.0f} ops/s")
    print(f"  latency: p50 {p50:.2f} ms, p99 {p99:.2f} ms, mean {statistics.fmean(all_lat) * 1000:.2f} ms")
    print(f"  reference: health round trip p50 {ref50:.2f} ms; op p50 / reference = {p50 / ref50:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--backend", default="docker", choices=["docker", "local"])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=10)
    a = ap.parse_args()
    run(a.backend, a.seconds, a.workers)


if __name__ == "__main__":
    main()
