"""The scoped run: one experiment + seed -> a run bundle with history, fault timeline, logs, verdict, report.

The story, in phases (each recorded in ``run.json`` as it starts): the bundle is created and the experiment
copied first; the history is streamed line by line while it is recorded; the cluster (``open_cluster``), the
nemesis and the workers are entered into one ``contextlib.ExitStack``, so on any exit -- normal, an error or
Ctrl-C -- workers stop, every active fault is ended (and recorded) and the network healed, node logs are
collected and the cluster removed. Then: recovery wait, the workload's final ops, checkers (each within its
time budget), ``results.json`` and the report (when ``harness.report`` is importable).
"""

from __future__ import annotations

import inspect
import random
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.bundle import Bundle
from harness.checkers.base import UNKNOWN, Composite, Result, Validity, compose
from harness.cluster.base import explain_missing
from harness.errors import EXIT_INVALID, EXIT_OK, EXIT_UNKNOWN, InfrastructureError
from harness.experiment import CheckerSpec, Experiment
from harness.faults.link import proxied_links
from harness.faults.nemesis import Nemesis
from harness.history import History, HistoryWriter
from harness.registry import Registries
from harness.schedule import Schedule, generate
from harness.target import ClientContext, make_workload
from harness.target import make_client as target_client
from harness.workers import Workers, call

Progress = Callable[[str], None]
ClusterFactory = Callable[..., AbstractContextManager[Any]]


@dataclass(frozen=True)
class RunOutcome:
    """What ``chaos run`` prints and exits with."""

    bundle: Bundle
    seed: int
    schedule: Schedule
    valid: Validity
    exit_code: int
    summary: str
    report: Path | None = None


OUTCOME_BY_EXIT = {EXIT_OK: "pass", EXIT_INVALID: "fail", EXIT_UNKNOWN: "unknown"}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def verdict(valid: Validity, expect: str) -> tuple[int, str]:
    """Exit code and a word: 0 when the verdict matches ``expect``, 1 when not, 2 unknown."""
    if valid == UNKNOWN:
        return EXIT_UNKNOWN, "unknown"
    if (valid is True) == (expect == "valid"):
        return EXIT_OK, "as expected"
    return EXIT_INVALID, "planted bug not caught" if expect == "invalid" else "invariant violated"


def _budgeted(
    name: str, fn: Callable[..., Result], history: History, spec: CheckerSpec
) -> Callable[[], Result]:
    """A thunk running one checker; past its budget (plus grace) the verdict is ``unknown``."""

    def thunk() -> Result:
        opts = dict(spec.options)
        params = inspect.signature(fn).parameters
        if spec.budget is not None and "time_limit" in params:
            opts.setdefault("time_limit", spec.budget)
        if spec.budget is None:
            return fn(history, **opts)
        box: list[Any] = []
        t = threading.Thread(target=lambda: box.append(_catch(fn, history, opts)), daemon=True)
        t.start()
        t.join(spec.budget * 1.5 + 2)
        if not box:
            return Result(name, UNKNOWN, f"{name}: the time budget of {spec.budget:g} s ran out; not decided")
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    return thunk


def _catch(fn: Callable[..., Result], history: History, opts: Mapping[str, Any]) -> Result | BaseException:
    try:
        return fn(history, **opts)
    except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread, where check_safe sees it
        return e


def check(exp: Experiment, history: History, registries: Registries) -> Composite:
    """Run every checker of ``exp`` on ``history`` (false beats unknown beats true)."""
    thunks = {c.name: _budgeted(c.name, registries.checkers.get(c.name), history, c) for c in exp.checkers}
    return compose(thunks)


def _summary(composite: Composite, word: str) -> str:
    bad = [r for r in composite.results.values() if r.valid is not True]
    detail = "; ".join(f"{r.checker}: {r.valid}: {r.summary}" for r in bad) if bad else "all checkers valid"
    return f"{word}: {detail}"


def _default_cluster_factory() -> ClusterFactory:
    try:
        from harness.platform import open_cluster
    except ImportError as e:
        raise InfrastructureError(
            f"the platform (harness.platform.open_cluster) is not available: {e}"
        ) from None
    return open_cluster


def _render(bundle: Bundle, progress: Progress) -> Path | None:
    try:
        from harness.report import render_report
    except ImportError:
        return None
    try:
        return Path(render_report(bundle))
    except Exception as e:  # noqa: BLE001 - a broken report must not change the verdict
        progress(f"report not rendered: {type(e).__name__}: {e}")
        return None


class _Run:
    """The state of one run while it happens (used only inside ``run_experiment``)."""

    def __init__(
        self, exp: Experiment, seed: int, reg: Registries, bundle: Bundle, progress: Progress
    ) -> None:
        self.exp, self.seed, self.reg, self.bundle, self.progress = exp, seed, reg, bundle, progress
        self.writer = HistoryWriter(bundle.history_file)
        self.phases: list[dict[str, Any]] = []
        self.t_start = time.monotonic()

    def phase(self, name: str) -> None:
        self.phases.append({"phase": name, "at_s": round(time.monotonic() - self.t_start, 3)})
        self.bundle.update_run(phase=name, phases=self.phases)
        self.progress(f"[{time.monotonic() - self.t_start:6.1f}s] phase {name}")

    def main(self, cluster: Any, stack: ExitStack, schedule: Schedule, target: Any) -> dict[str, float]:
        exp, timings = self.exp, {}
        self.phase("setup")
        cluster.wait_ready(timeout=exp.phases.ready_timeout)
        needed = {self.reg.fault(e.kind).capability for e in schedule.events}
        missing = needed - set(cluster.capabilities)
        if missing:
            raise InfrastructureError(
                f"this cluster cannot {', '.join(sorted(missing))} (capabilities: "
                f"{', '.join(sorted(cluster.capabilities))}; {explain_missing(missing)}); "
                "remove those faults or pick another backend"
            )
        timeout = exp.workload.timeout
        context = (
            cluster.client_context(timeout)
            if hasattr(cluster, "client_context")
            else ClientContext(
                exp.target.flags, dict(exp.target.options), tuple(cluster.nodes), timeout=timeout
            )
        )
        workload = make_workload(self.reg.workloads.get(exp.workload.kind), exp.workload.options, context)

        def make_client(process: int) -> Any:
            return target_client(target, cluster.client_addrs, process, timeout, context)

        nemesis = Nemesis(schedule, cluster, self.writer, self.reg, exp.fault_context)
        stack.callback(nemesis.stop)
        workers = Workers(
            workload,
            make_client,
            self.writer,
            concurrency=exp.workload.concurrency,
            seed=self.seed,
            rate=exp.workload.rate,
        )
        stack.callback(workers.stop)
        timings["setup_s"] = time.monotonic() - self.t_start
        self.phase("workload")
        t0 = time.monotonic()
        nemesis.start(t0)
        workers.start()
        first = self.writer.history().ops[:1]
        while (elapsed := time.monotonic() - t0) < exp.workload.duration:
            time.sleep(min(1.0, exp.workload.duration - elapsed))
            if not first and len(self.writer):
                first = self.writer.history().ops[:1]
            active = ", ".join(e.kind for e in nemesis.active) or "none"
            self.progress(
                f"[{time.monotonic() - self.t_start:6.1f}s] workload {elapsed + 1:5.1f}/"
                f"{exp.workload.duration:g}s ops={len(self.writer)} faults={active}"
            )
            if nemesis.error is not None or not workers.alive():
                break
        timings["workload_s"] = time.monotonic() - t0
        workers.stop()
        self.phase("heal")
        nemesis.stop()
        if nemesis.error is not None:
            raise InfrastructureError(
                f"a fault could not be applied: {type(nemesis.error).__name__}: {nemesis.error}"
            )
        if exp.phases.recovery:
            self.phase("recovery")
            time.sleep(exp.phases.recovery)
        if exp.phases.final:
            self.phase("final")
            self._final(workload, make_client, exp.workload.concurrency * 1000)
        done = sum(1 for op in self.writer.history() if op.type != "invoke" and op.process != "nemesis")
        timings["ops_per_s"] = done / max(timings["workload_s"], 1e-9)
        return timings

    def _final(self, workload: Any, make_client: Callable[[int], Any], process: int) -> None:
        """Each final op is retried (as a fresh process, honestly recorded) until it completes ``ok``."""
        for f, value in workload.final_ops():
            for _ in range(5):
                client = make_client(process)
                try:
                    out = call(self.writer, client, process, f, value)
                finally:
                    client.close()
                process += 1
                if out.type == "ok":
                    break
                time.sleep(0.5)


def run_experiment(
    exp: Experiment,
    *,
    seed: int | None = None,
    out: str | Path = "reports",
    registries: Registries | None = None,
    cluster_factory: ClusterFactory | None = None,
    progress: Progress | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> RunOutcome:
    """Run ``exp`` once and write its bundle under ``out/<name>/<timestamp>/``; see the module docstring.

    Ctrl-C heals, cleans up, marks the run ``interrupted`` (history kept) and re-raises ``KeyboardInterrupt``.
    """
    reg = registries or Registries()
    say = progress or (lambda line: None)
    seed = (
        seed
        if seed is not None
        else exp.seed
        if exp.seed is not None
        else random.SystemRandom().randrange(2**31)
    )
    schedule = generate(exp, seed, reg)
    factory = cluster_factory or _default_cluster_factory()
    bundle = Bundle.create(out, exp.name)
    if exp.source and Path(exp.source).is_file() and exp.target.declaration is None:
        shutil.copyfile(exp.source, bundle.experiment_file)  # a declaration path may be relative: not copied
    else:
        bundle.experiment_file.write_text(exp.to_yaml(), encoding="utf-8")
    bundle.write_run(
        {
            "experiment": exp.name,
            "seed": seed,
            "expect": exp.expect,
            "target": exp.target.name,
            "flags": sorted(exp.target.flags),
            "backend": exp.target.backend,
            "nodes": list(exp.nodes),
            "workload": exp.to_data().get("workload", {}),
            "resolved": exp.to_data(),
            "schedule": schedule.to_list(),
            "overrides": dict(overrides or {}),
            "replay": f"chaos replay {bundle.path}",
            "status": "running",
            "started": _now(),
            "python": sys.version.split()[0],
        }
    )
    say(
        f"run {exp.name} seed={seed} backend={exp.target.backend} "
        f"faults={len(schedule.events)} -> {bundle.path}"
    )
    run = _Run(exp, seed, reg, bundle, say)
    try:
        with ExitStack() as stack:
            stack.callback(run.writer.close)
            target = exp.target.resolve(reg)
            cluster = stack.enter_context(
                factory(
                    target,
                    nodes=exp.target.nodes,
                    backend=exp.target.backend,
                    flags=exp.target.flags,
                    options=dict(exp.target.options),
                    log_dir=bundle.logs_dir,
                    proxies=proxied_links(schedule.events),
                )
            )
            timings = run.main(cluster, stack, schedule, target)
            run.phase("teardown")
            t_down = time.monotonic()
        timings["teardown_s"] = time.monotonic() - t_down
    except KeyboardInterrupt:
        bundle.update_run(status="interrupted", ops=len(run.writer), finished=_now())
        say(f"interrupted: healed and cleaned up; {len(run.writer)} ops kept in {bundle.history_file}")
        raise
    except BaseException as e:
        bundle.update_run(
            status="crashed", error=f"{type(e).__name__}: {e}", ops=len(run.writer), finished=_now()
        )
        raise
    run.phase("check")
    composite = check(exp, bundle.read_history(), reg)
    code, word = verdict(composite.valid, exp.expect)
    summary = _summary(composite, word)
    # ``outcome`` (pass / fail / unknown) is what reports and summaries key on; ``verdict`` says it in full.
    outcome = OUTCOME_BY_EXIT[code]
    bundle.write_results(
        composite, outcome=outcome, verdict=word, expect=exp.expect, exit_code=code, seed=seed
    )
    bundle.update_run(
        status="finished",
        outcome=outcome,
        verdict=word,
        exit_code=code,
        ops=len(run.writer),
        timings=timings,
        finished=_now(),
    )
    report = _render(bundle, say)
    return RunOutcome(bundle, seed, schedule, composite.valid, code, summary, report)
