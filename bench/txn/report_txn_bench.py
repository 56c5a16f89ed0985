"""Benchmark of the report of a transactional run: render time and file size for 10k and 100k transactions.

The history comes from adya's simulated snapshot-isolation database (so the list-append checker, run as
serializable, finds G2-item cycles whose witnesses the report draws); it is stored in a run bundle with the
checker's result and rendered as ``chaos report`` would. The reference measured in the same run is reading the
history with ``harness.history.read_jsonl``, as in bench/report_bench.py. Goal (the report's limits, issue 7):
100k operations in under 10 s, to a file under 15 MB.

    .venv/bin/python bench/txn/report_txn_bench.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from adya import ensure_adya, simulate  # noqa: E402

from harness.bundle import Bundle  # noqa: E402
from harness.checkers.base import compose  # noqa: E402
from harness.checkers.txn.check import list_append  # noqa: E402
from harness.history import read_jsonl, write_jsonl  # noqa: E402
from harness.importers_txn import read_elle_json  # noqa: E402
from harness.record import RunRecord  # noqa: E402
from harness.report import render_report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    args = ap.parse_args()
    adya = ensure_adya()
    root = Path(tempfile.mkdtemp(prefix="txn-report-bench-"))
    print(
        f"{'txns':>8} {'render s':>9} {'read s':>7} {'ratio':>6} {'size MB':>8}  anomalies"
        "   goal: 100k < 10 s, < 15 MB"
    )
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            src = root / f"si-{n}.jsonl"
            simulate(adya, src, n, "snapshot-isolation", seed=1)
            history = read_elle_json(src)
            b = Bundle.create(root, f"txn-{n}")
            write_jsonl(history, b.history_file)
            b.write_run(
                RunRecord.from_dict(
                    {
                        "experiment": f"txn-{n}",
                        "seed": 1,
                        "target": "sim",
                        "expect": "invalid",
                        "status": "finished",
                        "workload": {"name": "list-append", "concurrency": 10},
                    }
                )
            )
            result = compose(
                {"list-append": lambda h=history: list_append(h, consistency_model="serializable")}
            )
            b.write_results(result, outcome="pass")
            t0 = time.perf_counter()
            read_jsonl(b.history_file)
            t_read = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = render_report(b)
            t_render = time.perf_counter() - t0
            size = out.stat().st_size / 1e6
            kinds = ",".join(result.results["list-append"].details["anomaly_types"])
            print(f"{n:>8} {t_render:>9.2f} {t_read:>7.2f} {t_render / t_read:>6.1f} {size:>8.2f}  {kinds}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
