"""``chaos report BUNDLE`` (render report.html) and ``chaos summary DIR`` (a suite's index.html).

Thin: argument parsing and messages only; the rendering lives in ``harness.report``. Errors (not a bundle, not
a directory, unreadable files) are ``BadInput`` and reach the user as one line with exit code 3.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.bundle import Bundle
from harness.errors import EXIT_INVALID, EXIT_OK, BadInput
from harness.report import render_report, write_summary
from harness.report.trends import flaky_experiments


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="render report.html from a run bundle",
        description="Render one self-contained report.html from a run bundle.",
    )
    p.add_argument("run_dir", metavar="BUNDLE", help="a run bundle, or an experiment directory (uses latest)")
    p.add_argument("--out", metavar="FILE", help="write here instead of BUNDLE/report.html")
    p.set_defaults(func=report_handler)
    s = subparsers.add_parser(
        "summary",
        help="write index.html linking every report under DIR",
        description="Write DIR/index.html linking every run report below DIR, with verdicts.",
    )
    s.add_argument("dir", metavar="DIR", help="directory holding run bundles, e.g. reports/")
    s.add_argument("--out", metavar="FILE", help="write here instead of DIR/index.html")
    s.add_argument(
        "--no-render",
        action="store_true",
        help="index only: do not render the report.html of bundles that have none (faster on many runs)",
    )
    s.add_argument(
        "--fail-on-unexpected",
        action="store_true",
        help="exit 1 when any run's outcome is fail (its verdict differs from its expect) or crashed",
    )
    s.set_defaults(func=summary_handler)


def report_handler(args: argparse.Namespace) -> int:
    path = Path(args.run_dir)
    if not path.is_dir():
        raise BadInput(
            f"{args.run_dir}: no such directory; pass a run bundle such as reports/<experiment>/latest"
        )
    if args.out is not None and not Path(args.out).parent.is_dir():
        raise BadInput(f"--out {args.out}: its directory does not exist")
    out = render_report(Bundle.open(path), args.out)
    print(out)
    return EXIT_OK


def summary_handler(args: argparse.Namespace) -> int:
    if args.out is not None and not Path(args.out).parent.is_dir():
        raise BadInput(f"--out {args.out}: its directory does not exist")
    out, entries = write_summary(args.dir, args.out, render_missing=not args.no_render)
    failed = [e for e in entries if e.outcome == "fail"]
    flaky = flaky_experiments(out.parent)
    crashed = [e for e in entries if e.outcome == "crashed"]
    no_fault = [e for e in entries if e.no_fault]
    extra = f", {len(crashed)} crashed" if crashed else ""
    extra += f", {len(no_fault)} with no fault injected" if no_fault else ""
    extra += f"; flaky: {', '.join(flaky)}" if flaky else ""
    print(f"{out}: {len(entries)} run(s), {len(failed)} with an unexpected verdict{extra}", file=sys.stdout)
    return EXIT_INVALID if (failed or crashed) and args.fail_on_unexpected else EXIT_OK
