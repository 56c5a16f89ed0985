"""Benchmark of the transactional checker (``list-append``) against adya, on the same histories in one run.

For each size (default 10k, 100k, 1M transactions, 10 processes) two histories come from adya's simulated
database: one at ``serializable`` (checked as strict-serializable: valid) and one at ``snapshot-isolation``
(checked as serializable: G2-item). Each is checked by ``adya check`` and by ``chaos check --checker
list-append --format elle-json`` as separate processes, measuring wall time and the process's own peak RSS
(the whole command: reading the file, checking, printing the JSON result). Printed per history: both times
and memories, the time ratio (ours / adya), the least CPU time (user + system) of each and its ratio, the
load average before and after, and whether the verdicts and the anomaly types the model forbids
agree (our ``-process`` variants count as ``-realtime``: process order is real-time order). Each check runs
``--repeat`` times, the two tools alternating, and the fastest run of each counts (the machine is shared, so
the minimum is the least disturbed measurement; memory is the peak of that run). Then the growth
of each tool's time per 10x more transactions. Goal (issue 12): within 4x adya's time and under 1 GB at 100k,
growth close to linear.

    .venv/bin/python bench/txn/elle_bench.py [--sizes 10000,100000,1000000] [--repeat 3] [--keep DIR]

adya is built into .chaos/adya on first use (cargo install, about a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from adya import Measured, ensure_adya, normalize, run_measured, simulate  # noqa: E402

from harness.checkers.txn.models import FORBIDS  # noqa: E402

CASES = (("valid", "serializable", "strict-serializable"), ("si", "snapshot-isolation", "serializable"))


def ours_cmd(path: Path, model: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "harness.cli",
        "check",
        str(path),
        "--checker",
        "list-append",
        "--format",
        "elle-json",
        "--consistency-model",
        model,
        "--json",
    ]


def forbidden_types(types: list[str], model: str) -> list[str]:
    names = {normalize(t).replace("-process", "-realtime") for t in types}
    return sorted(
        t for t in names if t in FORBIDS[model] or t.replace("-realtime", "-process") in FORBIDS[model]
    )


def verdict(m: Measured, ours: bool) -> tuple[object, list[str]]:
    d = json.loads(m.stdout)
    types = d["details"]["anomaly_types"] if ours else d["anomaly_types"]
    return d["valid"], types


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--processes", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool (1 from 1M transactions up)")
    ap.add_argument("--keep", metavar="DIR", help="keep the generated histories here")
    args = ap.parse_args()
    adya = ensure_adya()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="txn-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    times: dict[tuple[str, str], list[float]] = {}
    one, five, _ = os.getloadavg()
    print(f"before: load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores")
    print(
        f"{'history':>8} {'txns':>8} {'adya s':>7} {'adya MB':>8} {'ours s':>7} {'ours MB':>8} {'ratio':>6}"
        f" {'adya cpu':>8} {'ours cpu':>8} {'cpu ratio':>9}  verdicts  types   anomalies (ours)"
    )
    try:
        for n in sizes:
            for name, isolation, model in CASES:
                path = root / f"{name}-{n}.jsonl"
                simulate(adya, path, n, isolation, seed=1, processes=args.processes)
                runs_a, runs_o = [], []
                for _ in range(args.repeat if n < 1_000_000 else 1):
                    runs_a.append(run_measured([str(adya), "check", str(path), "-c", model, "--json"]))
                    runs_o.append(run_measured(ours_cmd(path, model)))
                a = min(runs_a, key=lambda m: m.seconds)
                o = min(runs_o, key=lambda m: m.seconds)
                (av, at), (ov, ot) = verdict(a, False), verdict(o, True)
                same_types = forbidden_types(at, model) == forbidden_types(ot, model)
                times.setdefault(("adya", name), []).append(a.seconds)
                times.setdefault(("ours", name), []).append(o.seconds)
                ca, co = min(r.cpu_s for r in runs_a), min(r.cpu_s for r in runs_o)
                print(
                    f"{name:>8} {n:>8} {a.seconds:>7.2f} {a.peak_mb:>8.0f} {o.seconds:>7.2f}"
                    f" {o.peak_mb:>8.0f} {o.seconds / a.seconds:>6.2f} {ca:>8.2f} {co:>8.2f} {co / ca:>9.2f}"
                    f"  {'agree' if av == ov else 'DIFFER':>8}"
                    f"  {'agree' if same_types else 'DIFFER':>6}  {','.join(ot) or '-'}"
                    + ("" if same_types else f" (adya: {','.join(at)})"),
                    flush=True,
                )
                path.unlink()
        one, five, _ = os.getloadavg()
        print(f"after: load average {one:.2f} (1 min) {five:.2f} (5 min)")
        print("growth of time per 10x transactions:")
        for (tool, name), ts in sorted(times.items()):
            steps = [f"{sizes[i]}->{sizes[i + 1]}: x{ts[i + 1] / ts[i]:.1f}" for i in range(len(ts) - 1)]
            print(f"  {tool:>4} {name:>5}: {', '.join(steps) or '-'}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
