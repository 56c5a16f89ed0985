"""``chaos run``, ``chaos replay`` and ``chaos shrink``: thin faces over ``harness.run`` / ``harness.shrink``.

Exit codes: 0 the outcome matched ``expect``; 1 an invariant was violated unexpectedly or a planted bug was
not caught (also for lack of evidence); 2 unknown (a checker ran out of budget, or the history proves too
little); 3 bad input, infrastructure failure (one line on stderr) or a crashed run (a worker or the nemesis).
Progress (phase, elapsed, ops recorded, active faults) goes to stderr; the verdict line to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from harness.bundle import Bundle
from harness.errors import EXIT_INVALID, EXIT_OK, BadInput, printable
from harness.experiment import Experiment, run_seed
from harness.loader import load, with_overrides
from harness.provenance import SUT_VERSION_ENV
from harness.record import RunRecord
from harness.registry import Registries
from harness.run import RunResult, run_experiment
from harness.schedule import Schedule
from harness.shrink import Candidate, as_experiment, shrink


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _print_outcome(o: RunResult) -> None:
    print(f"{o.summary}")
    for note in o.notes:
        print(f"note: {note}")
    print(f"seed {o.seed}; bundle {o.bundle.path}" + (f"; report {o.report}" if o.report else ""))


def _sut_version(args: argparse.Namespace) -> None:
    """``--sut-version``: recorded where run.json is written, as ``$CHAOS_SUT_VERSION`` would be."""
    if args.sut_version:
        os.environ[SUT_VERSION_ENV] = args.sut_version


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in (("backend", args.backend), ("duration", args.duration)) if v is not None}


def _run(
    exp: Experiment, seed: int | None, out: str, overrides: dict[str, Any], reg: Registries
) -> RunResult:
    exp = with_overrides(exp, seed=seed, **overrides)  # the seed travels in the experiment, nowhere else
    return run_experiment(exp, out=out, registries=reg, progress=_progress, overrides=overrides)


def cmd_run(args: argparse.Namespace) -> int:
    _sut_version(args)
    reg = Registries()
    exp = load(args.experiment, reg)
    if args.dry_run:
        return _dry_run(exp, args, reg)
    outcome = _run(exp, args.seed, args.out, _overrides(args), reg)
    _print_outcome(outcome)
    if args.shrink and outcome.valid is False:
        return _shrink_bundle(outcome.bundle, args.max_runs, reg)
    return outcome.exit_code


def _dry_run(exp: Experiment, args: argparse.Namespace, reg: Registries) -> int:
    """Validate and print the resolved plan; nothing starts (exit 0, or 3 on bad input)."""
    from harness.plan import format_plan, resolve_plan

    exp = with_overrides(exp, seed=args.seed, **_overrides(args))
    print(printable(format_plan(resolve_plan(exp, run_seed(exp), reg)), one_line=False))  # no raw ANSI
    return EXIT_OK


def _load_bundle(run: str, reg: Registries) -> tuple[Bundle, RunRecord, int, Experiment]:
    bundle = Bundle.open(run)
    meta = bundle.read_run()
    if not bundle.experiment_file.is_file() or meta.seed is None:
        raise BadInput(
            f"{bundle.path}: the bundle has no experiment.yaml or no recorded seed; cannot replay it"
        )
    exp = load(bundle.experiment_file, reg, name=meta.experiment or "experiment")
    return bundle, meta, meta.seed, exp


def cmd_replay(args: argparse.Namespace) -> int:
    _sut_version(args)
    reg = Registries()
    bundle, meta, seed, exp = _load_bundle(args.run, reg)
    overrides = {**(meta.overrides or {}), **_overrides(args)}
    outcome = _run(exp, seed, args.out, overrides, reg)
    same = meta.schedule is not None and outcome.schedule.to_list() == list(meta.schedule)
    print(
        f"replay of {bundle.path}: fault schedule {'identical' if same else 'DIFFERENT'} to the recorded one"
    )
    _print_outcome(outcome)
    return outcome.exit_code


def _shrink_bundle(bundle: Bundle, max_runs: int, reg: Registries, out: str | None = None) -> int:
    bundle, meta, seed, exp = _load_bundle(str(bundle.path), reg)
    results = bundle.read_results()
    if results is None or results.valid is not False:
        verdict = "no results" if results is None else f"valid = {results.valid}"
        raise BadInput(
            f"{bundle.path}: this run did not fail ({verdict}); shrink needs a run whose checkers failed"
        )
    if meta.schedule is None:
        raise BadInput(f"{bundle.run_file}: no recorded fault schedule (field 'schedule'); cannot shrink it")
    exp = with_overrides(exp, seed=seed, **(meta.overrides or {}))
    start = Candidate(Schedule.from_list(list(meta.schedule)), exp.workload.duration)
    shrink_out = out or str(bundle.path / "shrink")

    def fails(cand: Candidate) -> bool:
        o = run_experiment(
            as_experiment(exp, cand),  # carries the recorded seed
            out=shrink_out,
            registries=reg,
            progress=lambda line: None,
        )
        return o.valid is False

    result = shrink(start, fails, reg, exp.fault_context, max_runs=max_runs, log=_progress)
    best = as_experiment(exp, result.best)
    path = bundle.path / "shrunk.yaml"
    path.write_text(f"# shrunk from {bundle.path} in {result.runs} runs\n" + best.to_yaml(), encoding="utf-8")
    a, b = result.original.size(reg, exp.fault_context), result.best.size(reg, exp.fault_context)
    print(f"shrunk (faults, fault seconds, nodes, workload seconds) from {a} to {b} in {result.runs} runs")
    print(f"minimal failing experiment: {path}  (run it: chaos run {path})")
    return EXIT_OK if result.shrunk or not result.original.schedule.events else EXIT_INVALID


def cmd_shrink(args: argparse.Namespace) -> int:
    reg = Registries()
    return _shrink_bundle(Bundle.open(args.run), args.max_runs, reg, args.out)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        metavar="NAME",
        help="a registered backend (docker, local, a plugin's: chaos doctor lists them) or auto "
        "(docker when reachable, else local)",
    )
    p.add_argument("--duration", type=float, help="seconds of workload (overrides workload.duration)")
    p.add_argument(
        "--sut-version",
        metavar="V",
        help="the system under test's version recorded in run.json, which trends and flaky detection key on "
        "(default: $CHAOS_SUT_VERSION, else the current directory's git commit)",
    )


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run an experiment file")
    p.add_argument("experiment", metavar="EXPERIMENT", help="an experiment .yaml file")
    p.add_argument(
        "--seed", type=int, help="seed of the run's one random source (default: the file's, else fresh)"
    )
    _common(p)
    p.add_argument(
        "--out",
        default="reports",
        metavar="DIR",
        help="bundles go to DIR/<experiment>/<timestamp>/ (reports)",
    )
    p.add_argument("--shrink", action="store_true", help="when the run fails, shrink its fault schedule")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and print the resolved plan (nodes, images, commands, ports, schedule); start nothing",
    )
    p.add_argument("--max-runs", type=int, default=12, help="run budget of --shrink (12)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("replay", help="re-run a recorded run with its seed and spec")
    p.add_argument(
        "run", metavar="BUNDLE", help="a run bundle directory (or reports/<experiment> for its latest run)"
    )
    _common(p)
    p.add_argument(
        "--out",
        default="reports",
        metavar="DIR",
        help="the replay's bundle goes to DIR/<experiment>/<timestamp>/ (reports)",
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("shrink", help="search a smaller fault schedule that still fails")
    p.add_argument("run", metavar="BUNDLE", help="a failed run's bundle directory")
    p.add_argument(
        "--max-runs", type=int, default=12, help="how many experiment runs the search may spend (12)"
    )
    p.add_argument("--out", metavar="DIR", help="where the trial runs' bundles go (default: BUNDLE/shrink)")
    p.set_defaults(func=cmd_shrink)
