"""Benchmark of the queue and lock targets with no faults: end-to-end messages/s and lock acquisitions/s.

    .venv/bin/python bench/queue_lock_bench.py [--backend local|docker] [--messages N] [--seconds S]

The cluster comes from ``harness.platform.open_cluster``: ``local`` (default; node processes on loopback
behind the Toxiproxy mesh) or ``docker``. Queue: producers send N messages; the clock stops when the broker
reports every message acknowledged, which the correct consumer does only after the sink stored the effect
(verified against the sink's effects). Lock: workers loop acquire -> release on their own lock for S seconds
(every acquire is one Raft commit). Each figure is printed with its ratio to a reference measured in the same
run: the rate of plain request/reply round trips (``health``) to the same service over the same path.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos_targets.common.wire import LineClient  # noqa: E402
from chaos_targets.lock.client import LockClient  # noqa: E402
from chaos_targets.lock.target import LockTarget  # noqa: E402
from chaos_targets.queue.target import QueueTarget  # noqa: E402
from harness.target import Addr, Target  # noqa: E402


@contextlib.contextmanager
def cluster(target: Target, n: int, backend: str, options: Mapping[str, Any]) -> Iterator[dict[str, Addr]]:
    from harness.platform import open_cluster

    with open_cluster(target, nodes=n, backend=backend, options=options) as c:
        c.wait_ready(timeout=60)
        yield c.client_addrs


def parallel(workers: int, fn: Callable[[int], int]) -> int:
    counts = [0] * workers

    def run(i: int) -> None:
        counts[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts)


def pings_per_s(addr: Addr, workers: int, seconds: float) -> float:
    def ping(_: int) -> int:
        c, n, end = LineClient(addr.host, addr.port, 5.0), 0, time.monotonic() + seconds
        while time.monotonic() < end:
            c.call({"op": "health"})
            n += 1
        c.close()
        return n

    return parallel(workers, ping) / seconds


def bench_queue(backend: str, messages: int, producers: int) -> tuple[float, float]:
    target = QueueTarget()
    with cluster(target, 3, backend, {"work_ms": 0, "idle_ms": 5}) as addrs:
        ref = pings_per_s(addrs["broker"], producers, 1.0)
        per = messages // producers
        t0 = time.monotonic()

        def produce(i: int) -> int:
            c = target.client(addrs, i, 5.0)
            ok = sum(
                c.invoke("send", {"msg": f"b{i}-{k}", "account": "a", "amount": 1}).type == "ok"
                for k in range(per)
            )
            c.close()
            return ok

        sent = parallel(producers, produce)
        broker = LineClient(addrs["broker"].host, addrs["broker"].port, 5.0)
        while broker.call({"op": "stats"})["acked"] < sent:
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        sink = LineClient(addrs["sink"].host, addrs["sink"].port, 5.0)
        applied = len(sink.call({"op": "effects"})["effects"])
        broker.close()
        sink.close()
    if applied != sent:
        raise SystemExit(f"queue bench: {sent} messages acknowledged but {applied} effects in the sink")
    return sent / elapsed, ref


def bench_lock(backend: str, seconds: float, workers: int) -> tuple[float, float]:
    target = LockTarget()
    with cluster(target, 3, backend, {}) as addrs:
        probe = LockClient(addrs, 0, 2.0)
        deadline = time.monotonic() + 30
        while probe.invoke("acquire", {"lock": "warmup", "lease_ms": 1}).type != "ok":
            if time.monotonic() > deadline:
                raise SystemExit("lock bench: no leader elected within 30 s")
            time.sleep(0.1)
        leader = probe.leader or "n1"
        probe.close()
        ref = pings_per_s(addrs[leader], workers, 1.0)

        def loop(i: int) -> int:
            c, n, end = target.client(addrs, i, 2.0), 0, time.monotonic() + seconds
            while time.monotonic() < end:
                g = c.invoke("acquire", {"lock": f"bench{i}", "lease_ms": 10_000})
                if g.type == "ok":
                    n += 1
                    c.invoke("release", {"lock": f"bench{i}", "token": g.value["token"]})
            c.close()
            return n

        grants = parallel(workers, loop)
    return grants / seconds, ref


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("local", "docker"), default="local")
    p.add_argument("--messages", type=int, default=3000)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--workers", type=int, default=4)
    a = p.parse_args()
    mps, qref = bench_queue(a.backend, a.messages, a.workers)
    print(
        f"queue  ({a.backend}): {mps:8.0f} messages/s end to end (producer->broker->consumer->sink->ack)"
        f"; reference {qref:.0f} broker round trips/s; ratio {mps / qref:.3f}"
    )
    aps, lref = bench_lock(a.backend, a.seconds, a.workers)
    print(
        f"lock   ({a.backend}): {aps:8.0f} acquisitions/s (each followed by a release: 2 Raft commits)"
        f"; reference {lref:.0f} leader round trips/s; ratio {aps / lref:.3f}"
    )


if __name__ == "__main__":
    main()
