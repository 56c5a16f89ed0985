"""The scoped run: one experiment + seed -> a run bundle with history, fault timeline, logs, verdict, report.

The story, in phases (each recorded in ``run.json`` as it starts): the bundle is created and the experiment
copied first; the history is streamed line by line while it is recorded; the cluster (``open_cluster``), the
nemesis and the workers are entered into one ``contextlib.ExitStack``, so on any exit -- normal, an error or
Ctrl-C -- workers stop, every active fault is ended (and recorded) and the network healed, node logs are
collected and the cluster removed. Then: recovery wait, the workload's final ops, checkers (each within its
time budget), ``results.json`` and the report (when ``harness.report`` is importable).

No verdict without evidence (``harness.evidence``): a history in which some kind of op never succeeded, the
final ops did not succeed, or too few ops completed ok is ``unknown`` (a planted bug: not caught) unless a
checker proved a violation. A worker or nemesis exception (``harness.crash``) ends the run ``crashed``
(exit 3) after healing and cleaning up: the history so far is kept, and not checked.
"""

from __future__ import annotations

import inspect
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import evidence as ev
from harness import outcome as oc
from harness.bundle import Bundle
from harness.checkers.base import UNKNOWN, Composite, Result, Validity, compose
from harness.checkers.contract import Checkers
from harness.cluster.base import Cluster, explain_missing
from harness.cluster.owner import register_bundle
from harness.cluster.prepare import PREPARED
from harness.cluster.rundir import chaos_home
from harness.crash import Crash
from harness.crash import summary as crash_summary
from harness.errors import InfrastructureError
from harness.experiment import CheckerSpec, Experiment, run_seed
from harness.faults.link import proxied_links
from harness.history import History, HistoryWriter
from harness.interrupts import hold, shielded, trapped
from harness.provenance import code_version, harness_version, sut_version
from harness.record import Phase, RunRecord
from harness.registry import Registries
from harness.run_guard import Guard
from harness.runtime.interpreter import Hooks, Interpreter, client_context, client_factory, workload_for
from harness.runtime.nemesis import Nemesis
from harness.schedule import Schedule, generate
from harness.target import Target, live_roles
from harness.target import make_client as target_client

Progress = Callable[[str], None]
ClusterFactory = Callable[..., AbstractContextManager[Cluster]]


@dataclass(frozen=True)
class RunResult:
    """What ``chaos run`` prints and exits with (``outcome``, ``exit_code``: ``harness.outcome.decide``)."""

    bundle: Bundle
    seed: int
    schedule: Schedule
    valid: Validity
    exit_code: int
    summary: str
    report: Path | None = None
    outcome: str = ""  # pass / fail / unknown / crashed, as in run.json (``harness.outcome``)
    evidence: ev.Evidence | None = None
    notes: tuple[str, ...] = ()  # remarks that do not change the verdict (no fault injected)


def replay_command(bundle: Path) -> str:
    """The command line that replays a bundle, to paste as it is: the ``chaos`` beside this interpreter when
    it is not the one on PATH (a venv not activated), and the bundle's absolute path."""
    beside = Path(sys.executable).parent / "chaos"
    on_path = shutil.which("chaos")
    same = on_path is not None and (not beside.is_file() or Path(on_path).resolve() == beside.resolve())
    exe = "chaos" if same else str(beside)
    return shlex.join([exe, "replay", str(Path(bundle).resolve())])


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


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
    return check_with(exp.checkers, history, registries)


def check_with(checkers: Sequence[CheckerSpec], history: History, registries: Registries) -> Composite:
    """Run ``checkers`` on ``history``, each within its budget (false beats unknown beats true)."""
    found = Checkers(registries.checkers)
    return compose({c.name: _budgeted(c.name, found.get(c.name).check, history, c) for c in checkers})


def summary_line(composite: Composite, word: str, evidence: ev.Evidence | None = None) -> str:
    bad = [r for r in composite.results.values() if r.valid is not True]
    detail = "; ".join(f"{r.checker}: {r.valid}: {r.summary}" for r in bad) if bad else "all checkers valid"
    if evidence is not None and not evidence.enough and composite.valid is not False:
        detail = "too little evidence: " + "; ".join(evidence.lacking) + f" ({detail})"
    return f"{word}: {detail}"


def _default_cluster_factory() -> ClusterFactory:
    try:
        from harness.platform import open_cluster
    except ImportError as e:
        raise InfrastructureError(
            f"the platform (harness.platform.open_cluster) is not available: {e}"
        ) from None
    return open_cluster


def render(bundle: Bundle, progress: Progress) -> Path | None:
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
        self.phases: tuple[Phase, ...] = ()
        self.t_start = time.monotonic()
        self.guard = Guard(exp.steady_state, self.writer, bundle)  # steady-state probes and abort
        self.crashes: list[Crash] = []  # set: the run ends crashed, its history is not checked
        self.final_from: int | None = None  # index of the first op of the final phase

    def phase(self, name: str) -> None:
        self.phases += (Phase(name, round(time.monotonic() - self.t_start, 3)),)
        self.bundle.update_run(phase=name, phases=self.phases)
        self.progress(f"[{time.monotonic() - self.t_start:6.1f}s] phase {name}")

    def main(
        self, cluster: Cluster, stack: ExitStack, schedule: Schedule, target: Target
    ) -> dict[str, float]:
        exp, timings = self.exp, dict[str, float]()
        self.phase("setup")
        ran = getattr(getattr(cluster, "backend", None), "name", None)
        if isinstance(ran, str) and ran != exp.target.backend:  # auto resolved: record the backend that runs
            self.bundle.update_run(backend=ran)
        cluster.wait_ready(timeout=exp.phases.ready_timeout)
        needed = {self.reg.fault(e.kind).capability for e in schedule.events}
        missing = needed - set(cluster.capabilities)
        if missing:
            raise InfrastructureError(
                f"this cluster cannot {', '.join(sorted(missing))} (capabilities: "
                f"{', '.join(sorted(cluster.capabilities))}; "
                f"{explain_missing(missing, getattr(cluster, 'refusals', None))}); "
                "remove those faults or pick another backend"
            )
        context = client_context(cluster, exp.workload.timeout, exp.target.flags, exp.target.options)
        workload = workload_for(exp.workload.kind, exp.workload.options, context, self.reg)
        make_client = client_factory(target, cluster, context)

        concurrency = exp.workload.concurrency
        node_for = getattr(workload, "node_for", None)

        def worker_client(process: int) -> Any:
            """A worker's client: given only its node when the workload pins workers (kv's ``pin``)."""
            addrs = cluster.client_addrs
            node = node_for(process % concurrency, sorted(addrs)) if node_for is not None else None
            if node is not None:
                addrs = {node: addrs[node]}
            return target_client(target, addrs, process, context.timeout, context)

        if exp.steady_state is not None:
            self.phase("steady-state")
            if not self.guard.before_faults(cluster.client_addrs, make_client):
                return timings  # not steady: not tested (no faults, no workload)
        nemesis = Nemesis(
            schedule,
            cluster,
            self.writer,
            self.reg,
            exp.fault_context,
            roles=lambda: live_roles(target, context, cluster),
        )
        interp = stack.enter_context(
            Interpreter(
                workload,
                worker_client,
                self.writer,
                final_client=make_client,
                concurrency=exp.workload.concurrency,
                seed=self.seed,
                rate=exp.workload.rate,
                nemesis=nemesis,
            )
        )
        timings["setup_s"] = time.monotonic() - self.t_start

        def started(t0: float) -> None:
            self.guard.start_monitor(cluster.client_addrs, make_client, t0)
            stack.callback(self.guard.stop)
            hold("workload")

        def tick(elapsed: float) -> None:
            active = ", ".join(e.kind for e in nemesis.active) or "none"
            self.progress(
                f"[{time.monotonic() - self.t_start:6.1f}s] workload {elapsed:5.1f}/"
                f"{exp.workload.duration:g}s ops={len(self.writer)} faults={active}"
            )

        def wait(seconds: float) -> bool:
            if not self.guard.wait(seconds):
                return False
            self.progress(f"abort: {self.guard.aborted}: stopping faults, healing")
            return True

        def phase(name: str) -> None:
            if name == "heal":
                self.guard.stop()
            self.phase(name)
            if name in ("heal", "final"):
                hold(name)

        played = interp.run(
            exp.workload.duration,
            recovery=exp.phases.recovery,
            final=exp.phases.final,
            hooks=Hooks(phase=phase, started=started, wait=wait, tick=tick),
        )
        timings["workload_s"] = played.workload_s
        self.final_from = played.final_from
        self.crashes += played.crashes
        if self.crashes:
            return timings
        done = sum(1 for op in self.writer.history() if op.type != "invoke" and op.process != "nemesis")
        timings["ops_per_s"] = done / max(timings["workload_s"], 1e-9)
        return timings


def _start(
    exp: Experiment,
    seed: int,
    reg: Registries,
    bundle: Bundle,
    schedule: Schedule,
    overrides: Mapping[str, Any] | None,
    say: Progress,
) -> _Run:
    """Copy the experiment and write the first ``run.json`` (status ``running``)."""
    if exp.source and Path(exp.source).is_file() and exp.target.declaration is None:
        shutil.copyfile(exp.source, bundle.experiment_file)  # a declaration path may be relative: not copied
    else:
        bundle.experiment_file.write_text(exp.to_yaml(), encoding="utf-8")
    bundle.write_run(
        RunRecord(
            experiment=exp.name,
            seed=seed,
            expect=exp.expect,
            target=exp.target.name,
            flags=tuple(sorted(exp.target.flags)),
            backend=exp.target.backend,
            nodes=tuple(exp.nodes),
            workload=exp.to_data().get("workload", {}),
            resolved=exp.to_data(),
            schedule=tuple(schedule.to_list()),
            overrides=dict(overrides or {}),
            replay=replay_command(bundle.path),
            status="running",
            started=_now(),
            python=sys.version.split()[0],
            code_version=code_version(),
            sut_version=sut_version(),
            harness_version=harness_version(),
        )
    )
    say(
        f"run {exp.name} seed={seed} backend={exp.target.backend} "
        f"faults={len(schedule.events)} -> {bundle.path}"
    )
    return _Run(exp, seed, reg, bundle, say)


def prepared_abilities(reg: Registries, events: Any) -> dict[str, frozenset[str]]:
    """``{"prepare": ...}`` for the cluster factory when the schedule needs nodes started for an ability
    (a faked clock, a disk layer); nothing otherwise, so factories that know no such ability still fit."""
    wanted = frozenset(reg.fault(e.kind).capability for e in events) & PREPARED
    return {"prepare": wanted} if wanted else {}


def _execute(
    run: _Run, exp: Experiment, reg: Registries, factory: ClusterFactory, schedule: Schedule
) -> dict[str, float]:
    """Cluster up, workload and faults, heal, final ops, cluster down; returns the timings."""
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
                log_dir=run.bundle.logs_dir,
                proxies=proxied_links(schedule.events),
                **prepared_abilities(reg, schedule.events),
            )
        )
        timings = run.main(cluster, stack, schedule, target)
        run.phase("teardown")
        t_down = time.monotonic()
    timings["teardown_s"] = time.monotonic() - t_down
    return timings


def _check_and_record(
    run: _Run, exp: Experiment, reg: Registries, schedule: Schedule, timings: dict[str, float]
) -> RunResult:
    """Check the history, weigh the evidence, write results and ``run.json``, render the report."""
    bundle, say, seed = run.bundle, run.progress, run.seed
    run.phase("check")
    hold("check")
    t_check = time.monotonic()
    history = bundle.read_history()
    composite = run.guard.verdict(lambda: check(exp, history, reg))
    timings["check_s"] = round(time.monotonic() - t_check, 3)
    evidence = ev.gather(
        history, exp.evidence, final_from=run.final_from, faults_planned=len(schedule.events)
    )
    decision = oc.decide(composite.valid, exp.expect, evidence)
    code, word, outcome = decision.exit_code, decision.verdict, decision.outcome
    summary = summary_line(composite, word, evidence)
    valid = ev.judge(composite.valid, evidence)
    # ``outcome`` (pass / fail / unknown) is what reports and summaries key on; ``verdict`` says it in full.
    # ``valid`` is the checkers' verdict weighed by the evidence; each checker's own stays in ``results``.
    bundle.write_results(
        composite,
        valid=valid,
        evidence=evidence.to_dict(),
        outcome=outcome,
        verdict=word,
        expect=exp.expect,
        exit_code=code,
        seed=seed,
    )
    run.phase("report")
    bundle.update_run(
        status="finished",
        outcome=outcome,
        verdict=word,
        exit_code=code,
        ops=len(run.writer),
        timings=timings,
        evidence=evidence,
        finished=_now(),
    )
    for note in evidence.notes():
        say(f"note: {note}")
    hold("report")
    report = render(bundle, say)
    return RunResult(
        bundle, seed, schedule, valid, code, summary, report, outcome, evidence, tuple(evidence.notes())
    )


def _crashed(run: _Run, schedule: Schedule, timings: dict[str, float]) -> RunResult:
    """Record a crashed run (already healed and cleaned up) and render its report; nothing is checked."""
    bundle, ops = run.bundle, len(run.writer)
    summary = crash_summary(run.crashes, ops)
    decision = oc.decide(None, run.exp.expect, crashed=True)
    bundle.update_run(
        status="crashed",
        outcome=decision.outcome,
        verdict=decision.verdict,
        exit_code=decision.exit_code,
        error="; ".join(c.words() for c in run.crashes),
        crashes=tuple(run.crashes),
        ops=ops,
        timings=timings,
        finished=_now(),
    )
    run.progress(summary)
    report = render(bundle, run.progress)
    return RunResult(
        bundle, run.seed, schedule, UNKNOWN, decision.exit_code, summary, report, decision.outcome
    )


def run_experiment(
    exp: Experiment,
    *,
    seed: int | None = None,
    out: str | Path = "reports",
    registries: Registries | None = None,
    cluster_factory: ClusterFactory | None = None,
    progress: Progress | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> RunResult:
    """Run ``exp`` once and write its bundle under ``out/<name>/<timestamp>/``; see the module docstring.

    The seed is ``harness.experiment.run_seed(exp, seed)``: ``seed`` when given, else the experiment's own,
    else a fresh one. Callers that put it in the experiment (``with_overrides``) pass it nowhere else.

    SIGINT or SIGTERM at any phase (start-up, workload, heal, final, check, teardown, report) heals, cleans
    up, marks the run ``interrupted`` (history kept) and re-raises ``KeyboardInterrupt``; a second signal
    cannot cut the cleanup short.
    """
    reg = registries or Registries()
    say = progress or (lambda line: None)
    seed = run_seed(exp, seed)
    with trapped():  # SIGINT and SIGTERM unwind the run once; teardown is shielded (harness.interrupts)
        schedule = generate(exp, seed, reg)
        factory = cluster_factory or _default_cluster_factory()
        bundle = Bundle.create(out, exp.name)
        entry = register_bundle(chaos_home(), bundle.path)  # so `chaos clean` can mark it killed
        run: _Run | None = None
        try:
            run = _start(exp, seed, reg, bundle, schedule, overrides, say)
            timings = _execute(run, exp, reg, factory, schedule)
            if run.crashes:
                result = _crashed(run, schedule, timings)
            else:
                result = _check_and_record(run, exp, reg, schedule, timings)
        except KeyboardInterrupt:
            ops = len(run.writer) if run is not None else 0
            with shielded():
                bundle.update_run(status="interrupted", ops=ops, finished=_now())
            say(f"interrupted: healed and cleaned up; {ops} ops kept in {bundle.history_file}")
            raise
        except BaseException as e:
            ops = len(run.writer) if run is not None else 0
            bundle.update_run(
                status="crashed",
                outcome=oc.decide(None, exp.expect, crashed=True).outcome,
                error=f"{type(e).__name__}: {e}",
                ops=ops,
                finished=_now(),
            )
            raise
        finally:
            entry.unlink(missing_ok=True)
    return result
