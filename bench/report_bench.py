"""Benchmark of report rendering: render time and file size for generated histories of 1k, 10k and 100k
client operations (each an invoke and a completion, so 2k-200k history lines), with faults and a recorded
linearizability violation, as ``chaos report`` renders them from disk.

The reference, measured in the same run, is reading the same history with ``harness.history.read_jsonl``:
the ratio says how much rendering costs on top of just loading the bundle. Goal (issue 7): 100k operations in
under 10 s, to a file under 15 MB.

    .venv/bin/python bench/report_bench.py [--sizes 1000,10000,100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.bundle import Bundle
from harness.history import read_jsonl, write_jsonl
from harness.op import Op
from harness.record import RunRecord
from harness.report import render_report

MS = 1_000_000


def make_bundle(root: Path, n_ops: int, seed: int = 7, concurrency: int = 10) -> Bundle:
    """A kv run of ``n_ops`` client ops on 20 keys, a partition or kill every ~2 s, 1% unknown outcomes."""
    rng = random.Random(seed)
    b = Bundle.create(root, f"bench-{n_ops}")
    events: list[tuple[int, Any, str, str, Any]] = []
    next_proc = concurrency
    for w in range(concurrency):
        proc, t = w, rng.randrange(0, 3 * MS)
        for _ in range(n_ops // concurrency):
            key, f = f"k{rng.randrange(20)}", rng.choice(["read", "write", "cas"])
            value: dict[str, Any] = {"key": key, "value": None if f == "read" else rng.randrange(100)}
            if f == "cas":
                value = {"key": key, "from": rng.randrange(100), "to": rng.randrange(100)}
            end = t + rng.randrange(MS // 2, 5 * MS)
            kind = rng.choices(["ok", "fail", "info"], [90, 9, 1])[0]
            result = {"key": key, "value": rng.randrange(100)} if f == "read" and kind == "ok" else value
            events.append((t, proc, "invoke", f, value))
            events.append((end, proc, kind, f, result))
            if kind == "info":
                proc, next_proc = next_proc, next_proc + 1
            t = end + rng.randrange(0, MS)
    t_end = max(e[0] for e in events)
    t = 2000 * MS
    while t < t_end:
        kind = rng.choice(["partition", "kill"])
        nodes = rng.sample(["n1", "n2", "n3", "n4", "n5"], 2)
        v = {"kind": kind, "nodes": nodes}
        events.append((t, "nemesis", "info", f"start-{kind}", v))
        events.append((t + 800 * MS, "nemesis", "info", f"stop-{kind}", v))
        t += 2000 * MS
    events.sort(key=lambda e: e[0])
    ops = [Op(i, e[0], e[1], e[2], e[3], e[4]) for i, e in enumerate(events)]  # type: ignore[arg-type]
    write_jsonl(ops, b.history_file)
    reads = [op.index for op in ops if op.f == "read" and op.type == "invoke" and op.value["key"] == "k3"]
    writes = [op.index for op in ops if op.f == "write" and op.type == "invoke" and op.value["key"] == "k3"]
    k3 = sorted(reads + writes)
    b.write_run(
        RunRecord.from_dict(
            {
                "experiment": f"bench-{n_ops}",
                "seed": seed,
                "target": "kv",
                "nodes": ["n1", "n2", "n3", "n4", "n5"],
                "flags": ["stale-read"],
                "backend": "local",
                "expect": "invalid",
                "status": "finished",
                "replay": f"chaos replay {b.path}",
                "outcome": "pass",
            }
        )
    )
    failed = {"key": "k3", "ops": k3, "longest": [writes[:40]], "stuck_ops": reads[40:42], "final_state": 5}
    details = {
        "model": "kv",
        "parts": 20,
        "ops": n_ops,
        "failed_part": failed,
        "unknown_parts": [],
        "elapsed_s": 1.0,
    }
    b.results_file.write_text(
        json.dumps(
            {
                "valid": False,
                "outcome": "pass",
                "results": {
                    "linearizable": {
                        "checker": "linearizable",
                        "valid": False,
                        "summary": "",
                        "details": details,
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    return b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--keep", metavar="DIR", help="keep the generated bundles and reports here")
    args = ap.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="report-bench-"))
    print(f"{'ops':>8} {'render s':>9} {'read s':>7} {'ratio':>6} {'size MB':>8}  goal: 100k < 10 s, < 15 MB")
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            b = make_bundle(root, n)
            t0 = time.perf_counter()
            read_jsonl(b.history_file)
            t_read = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = render_report(b)
            t_render = time.perf_counter() - t0
            size = out.stat().st_size / 1e6
            print(f"{n:>8} {t_render:>9.2f} {t_read:>7.2f} {t_render / t_read:>6.1f} {size:>8.2f}  {out}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
