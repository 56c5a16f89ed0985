"""Runner benchmark: harness overhead per run, and the rate of ops the runner records against the KV store.

Prints, for a KV experiment with no faults on the chosen backend:
  - setup to first operation (s): from ``run_experiment`` starting to the first client op in the history
  - teardown (s): workers stopped, faults healed, logs collected, cluster removed
  - whole run (s) minus the workload seconds: the total harness overhead
  - ops/s recorded by the runner (completed client ops / workload seconds), and its ``ok`` ops/s
and, as the reference measured in the same script, the ``ok`` ops/s of bare client threads (same target, same
concurrency, same cluster kind, nothing recorded), with the ratio runner / bare of ``ok`` ops/s.

    .venv/bin/python bench/runner_bench.py [--backend local|docker] [--duration 5] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from harness.loader import load, with_overrides
from harness.platform import open_cluster
from harness.registry import Registries
from harness.run import run_experiment

ROOT = Path(__file__).resolve().parents[1]


def bare_rate(backend: str, duration: float, concurrency: int) -> float:
    """``ok`` ops/s of plain client threads doing the KV workload's ops, recording nothing."""
    reg = Registries()
    target = reg.target("kv")
    workload = reg.workloads.get("kv")({"keys": 3})
    done = [0] * concurrency
    stop = threading.Event()
    with open_cluster(target, nodes=3, backend=backend) as cluster:
        cluster.wait_ready(timeout=60)

        def work(i: int) -> None:
            client = target.client(cluster.client_addrs, i, 1.0)
            plan = workload.plan(i, random.Random(i))
            while not stop.is_set():
                step = plan.next(None)
                if step is None:
                    break
                if client.invoke(*step).type == "ok":
                    done[i] += 1
            client.close()

        threads = [threading.Thread(target=work, args=(i,)) for i in range(concurrency)]
        for t in threads:
            t.start()
        time.sleep(duration)
        stop.set()
        for t in threads:
            t.join(10)
    return sum(done) / duration


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="local", choices=("local", "docker"))
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    exp = with_overrides(load(ROOT / "experiments" / "kv-register.yaml"), backend=args.backend, seed=1)
    exp = replace(
        exp,
        steps=(),
        random=None,
        workload=replace(exp.workload, duration=args.duration, rate=None, concurrency=args.concurrency),
        phases=replace(exp.phases, recovery=0.0),
    )
    with tempfile.TemporaryDirectory() as out:
        t0 = time.monotonic()
        o = run_experiment(exp, out=out)
        total = time.monotonic() - t0
        timings = o.bundle.read_run().timings
        history = o.bundle.read_history()
        first_op_s = history.client_ops()[0].time / 1e9
        oks = sum(
            1
            for op in history.client_ops()
            if op.type == "ok" and isinstance(op.process, int) and op.process < 1000
        )
    runner_rate = oks / timings["workload_s"]
    bare = bare_rate(args.backend, args.duration, args.concurrency)
    print(f"backend {args.backend}, 3 kv nodes, {args.concurrency} workers, {args.duration:g} s, no faults")
    print(f"setup to first operation : {first_op_s:7.3f} s")
    print(f"teardown                 : {timings['teardown_s']:7.3f} s")
    print(
        f"whole run - workload     : {total - timings['workload_s']:7.3f} s  (setup, final ops, teardown, "
        f"checking, report)"
    )
    print(f"ops/s recorded by runner : {timings['ops_per_s']:9.1f}  (every completion: ok, fail, info)")
    print(f"ok ops/s by runner       : {runner_rate:9.1f}")
    print(f"ok ops/s bare threads    : {bare:9.1f}  (reference: same cluster kind, nothing recorded)")
    print(f"ratio runner / bare      : {runner_rate / bare:9.3f}")
    print(f"verdict                  : {o.summary}")


if __name__ == "__main__":
    main()
