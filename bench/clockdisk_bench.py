"""Benchmark of clock and disk faults (issue 21).

    .venv/bin/python bench/clockdisk_bench.py [--backend local|docker] [--seconds S] [--rounds N]

1. The disk fault layer's cost on a write-heavy node: the kv store (3 nodes, every op a write, fsync per
   commit) with plain data directories and with every data directory behind the FUSE layer, in alternating
   rounds of the same run; ops/s and p50 of each, and the ratio layer / plain (the reference).
   The layer keeps its own durability model, so a node's fsync through it does not reach the host's disk:
   an fsync-bound node can run faster behind it. What the layer itself costs shows in (1b): 4 KiB writes
   with no fsync into a plain directory and through a layer, same run.
2. Clock faults: the time ``start`` and ``stop`` (apply and heal) of each clock kind take on 3 nodes, and how
   long until a process under the same libfaketime environment sees the new offset (median of 20 each).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from drive import run_for  # noqa: E402 - bench/ is on sys.path when a script runs

from chaos_targets.kv.client import KvClient
from chaos_targets.kv.target import KvTarget
from chaos_targets.kv.workload import KvWorkload
from harness.cluster.fakeclock import FakeClocks, libfaketime_path
from harness.faults.clock import ClockJump, ClockSkew, ClockStrobe
from harness.platform import open_cluster


def write_heavy(backend: str, layer: bool, seconds: float, workers: int) -> tuple[float, float]:
    """(ops/s, p50 ms) of an all-write kv workload, data directories behind the layer or not."""
    workload = KvWorkload({"keys": 3, "values": 1000, "read": 0, "write": 1, "cas": 0})
    prepare = {"disk"} if layer else set()
    with open_cluster(KvTarget(), nodes=3, backend=backend, prepare=prepare) as cluster:
        cluster.wait_ready(timeout=90)
        probe = KvClient(cluster.client_addrs, 0, 2.0)
        deadline = time.monotonic() + 30
        while probe.invoke("write", {"key": "warm", "value": 0}).type != "ok":
            if time.monotonic() > deadline:
                raise SystemExit("clockdisk_bench: no leader within 30 s")
            time.sleep(0.2)
        lat: list[float] = []
        lock = threading.Lock()
        stop = threading.Event()

        def worker(w: int) -> None:
            client = KvClient(cluster.client_addrs, w, 2.0)
            plan = workload.plan(w, random.Random(w))
            while not stop.is_set():
                step = plan.next(None)
                assert step is not None
                t0 = time.perf_counter()
                out = client.invoke(*step)
                if out.type == "ok":
                    with lock:
                        lat.append(time.perf_counter() - t0)
            client.close()

        elapsed = run_for(worker, workers, seconds, stop)
    return len(lat) / elapsed, statistics.median(lat) * 1000 if lat else float("nan")


def raw_writes(tmp: str, n: int = 3000) -> None:
    """(1b) writes/s of 4 KiB pwrite calls, no fsync: a plain directory vs the layer, same run."""
    from pathlib import Path

    from harness.cluster.disklayer import LayerProcess, fuse_refusal
    from harness.cluster.rundir import RunDir

    if fuse_refusal() is not None:
        print(f"  raw writes: not measured ({fuse_refusal()})")
        return
    home = os.environ.get("CHAOS_HOME")
    os.environ["CHAOS_HOME"] = tmp  # the layer's run directory lives there, not among real runs
    try:
        run = RunDir.create("20260101000000-bbbbbb")
    finally:
        if home is None:
            os.environ.pop("CHAOS_HOME")
        else:
            os.environ["CHAOS_HOME"] = home
    layer = LayerProcess(run, "n1", run.path / "disk" / "n1", run.path / "data" / "n1")
    plain = Path(tmp) / "plain"
    plain.mkdir()
    block = os.urandom(4096)
    rates = {}
    try:
        for name, folder in [("plain", plain), ("layer", layer.mount)] * 2:
            fd = os.open(folder / "f", os.O_WRONLY | os.O_CREAT, 0o644)
            t0 = time.perf_counter()
            for i in range(n):
                os.pwrite(fd, block, (i % 256) * 4096)
            rates.setdefault(name, []).append(n / (time.perf_counter() - t0))
            os.close(fd)
    finally:
        layer.stop()
        run.remove()
    p, q = statistics.mean(rates["plain"]), statistics.mean(rates["layer"])
    print(f"  raw 4 KiB writes, no fsync: plain {p:.0f}/s, layer {q:.0f}/s, ratio layer / plain {q / p:.3f}")


def clock_kinds(backend: str) -> None:
    kinds: list[tuple[Any, dict[str, Any]]] = [
        (ClockSkew(), {"offset_ms": 5000}),
        (ClockJump(), {"by_ms": -3000}),
        (ClockStrobe(), {"offsets_ms": [0, 2000], "period_ms": 100}),
    ]
    with open_cluster(KvTarget(), nodes=3, backend=backend, prepare={"clock"}) as cluster:
        cluster.wait_ready(timeout=90)
        nodes = list(cluster.nodes)
        for kind, params in kinds:
            p = {"nodes": nodes, **params}
            applied, healed = [], []
            for _ in range(20):
                t0 = time.perf_counter()
                kind.start(cluster, p)
                applied.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                kind.stop(cluster, p)
                healed.append(time.perf_counter() - t0)
            a, h = statistics.median(applied) * 1000, statistics.median(healed) * 1000
            print(f"  {kind.name}: apply {a:.2f} ms, heal {h:.2f} ms (3 nodes, median of 20)")


PROBE = "import sys, time\nfor line in sys.stdin:\n    print(time.time(), flush=True)\n"


def visibility(tmp: str) -> None:
    lib = libfaketime_path()
    if lib is None:
        print("  libfaketime not installed: visibility not measured")
        return
    clocks = FakeClocks(__import__("pathlib").Path(tmp), lib)
    env = {**os.environ, **clocks.env("n1")}
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None and proc.stdout is not None
    waits = []
    try:
        for i in range(20):
            offset = 10_000.0 * (1 if i % 2 == 0 else 0)
            t0 = time.perf_counter()
            clocks.set("n1", offset)
            while True:
                proc.stdin.write(b"\n")
                proc.stdin.flush()
                seen = float(proc.stdout.readline()) - time.time()
                if abs(seen * 1000 - offset) < 1000:
                    break
            waits.append(time.perf_counter() - t0)
    finally:
        proc.kill()
        proc.wait()
    print(
        f"  offset visible to the node process after {statistics.median(waits) * 1000:.2f} ms (median of 20)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--backend", default="local", choices=["docker", "local"])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    print(f"clock/disk bench: backend={a.backend}, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    plain, layered = [], []
    for r in range(a.rounds):
        for layer, out in ((False, plain), (True, layered)):
            ops, p50 = write_heavy(a.backend, layer, a.seconds, a.workers)
            out.append(ops)
            what = "FUSE layer" if layer else "plain dir "
            print(f"  round {r + 1} {what}: {ops:.0f} writes/s, p50 {p50:.1f} ms")
    ratio = statistics.mean(layered) / statistics.mean(plain)
    plain_ops, layer_ops = statistics.mean(plain), statistics.mean(layered)
    print(f"  write-heavy kv: plain {plain_ops:.0f} ops/s, layer {layer_ops:.0f} ops/s")
    print(f"  ratio layer / plain = {ratio:.2f}")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        raw_writes(tmp)
    clock_kinds(a.backend)
    with tempfile.TemporaryDirectory() as tmp:
        visibility(tmp)


if __name__ == "__main__":
    main()
