"""The run interpreter: one run's concurrency (workers, nemesis, heal, recovery, final phase) in one place.

Everything that drives a workload against a cluster goes through ``Interpreter.run`` (the runner
``harness.run``, the pytest plugin's ``chaos_play`` fixture, the bundled targets' end-to-end tests through
``play``), so the rules of an honest history hold everywhere. Both also build their clients and workloads
here, with the run's ``ClientContext`` (``client_context``, ``client_factory``, ``workload_for``): a client
that reads the run's flags (a client-side planted bug such as redis ``replica-reads``) gets them from a YAML
experiment and from a fixture-driven test alike.

1. ``workload``: the nemesis and ``concurrency`` workers start together (``t0``); every client call is
   recorded as invoke + completion in the one ``HistoryWriter``. A process whose op ended ``info`` (or
   whose client raised: recorded as ``info``) is never reused: its worker goes on as a fresh process
   (``harness.runtime.workers``). The window ends after ``duration`` seconds, when every worker's plan is
   done, when a worker or the nemesis crashes, or when the caller's ``wait`` hook cuts it short (an abort).
2. ``heal``: workers stop, then the nemesis ends every active fault (recording each stop) and heals the
   network -- always, also when the run is left by an exception or Ctrl-C (``close``, or leaving ``with``).
3. A crash (an exception outside any op, in a worker or the nemesis) ends the run there: nothing is retried.
4. ``recovery``: a pause of ``recovery`` seconds with no faults.
5. ``final``: the workload's final ops, each retried as a fresh process until ``ok`` (``final_tries`` times,
   ``final_backoff`` seconds apart); ``final_from`` is the index of the phase's first op.

All waiting goes through the injected ``Clock`` (``harness.runtime.clock``). The caller sees each phase as it
begins (``Hooks.phase``), the moment the workload started (``Hooks.started``) and every tick of the window
(``Hooks.tick``); the runner uses these to record phases and to run its steady-state guard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness.crash import Crash
from harness.errors import BadInput
from harness.faults.base import ParamError
from harness.history import History, HistoryWriter
from harness.loader import workload_of
from harness.names import FINAL_PROCESS_BASE  # final ops run as processes concurrency * 1000, + 1 per try
from harness.registry import Registries
from harness.runtime.clock import MONOTONIC, Clock
from harness.runtime.nemesis import FaultLoop, Nemesis, default_context
from harness.runtime.workers import ClientFactory, Workers, call
from harness.schedule import Schedule
from harness.target import ClientContext, Target, Workload, live_roles, make_client, role_names


def _noop(*_: Any) -> None:
    return None


class RunCrashed(Exception):
    """``play``: a worker, the nemesis or the final phase raised outside any op (the run was healed)."""

    def __init__(self, crashes: tuple[Crash, ...]) -> None:
        super().__init__("the run crashed: " + "; ".join(c.words() for c in crashes))
        self.crashes = crashes


@dataclass(frozen=True)
class Hooks:
    """What the caller sees of a run as it goes.

    ``phase(name)``: ``workload`` before it starts, ``heal`` (workers stopped, faults not ended yet),
    ``recovery``, ``final`` (``final_from`` already set). ``started(t0)``: workers and nemesis are running.
    ``wait(seconds)``: how to wait one tick of the workload window; ``True`` cuts the window short (an abort).
    ``tick(elapsed)``: after each tick, the seconds since ``t0``.
    """

    phase: Callable[[str], None] = _noop
    started: Callable[[float], None] = _noop
    wait: Callable[[float], bool] | None = None
    tick: Callable[[float], None] = _noop


@dataclass(frozen=True)
class Played:
    """How a run went: when its workload started, how long it lasted and why it ended, what crashed."""

    t0: float
    workload_s: float
    ended: str  # duration | done (every plan finished) | cut (the wait hook said stop) | crash
    crashes: tuple[Crash, ...] = ()
    final_from: int | None = None


class Interpreter:
    """Workers + nemesis + final phase of one run, recording into ``writer``; see the module docstring."""

    def __init__(
        self,
        workload: Workload,
        make_client: ClientFactory,
        writer: HistoryWriter,
        *,
        concurrency: int,
        seed: int,
        rate: float | None = None,
        nemesis: Nemesis | None = None,
        clock: Clock = MONOTONIC,
        tick_s: float = 1.0,
        final_client: ClientFactory | None = None,
        final_tries: int = 5,
        final_backoff: float = 0.5,
    ) -> None:
        self.workload, self.make_client, self.writer = workload, make_client, writer
        self.concurrency = concurrency
        self.nemesis = nemesis
        self.clock = clock
        self.tick_s = tick_s
        self.final_client = final_client or make_client
        self.final_tries, self.final_backoff = final_tries, final_backoff
        self.workers = Workers(
            workload, make_client, writer, concurrency=concurrency, seed=seed, rate=rate, clock=clock
        )
        self._never = threading.Event()  # waited on for pauses nothing cuts short
        self._closed = False
        self.final_from: int | None = None

    def __enter__(self) -> Interpreter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers and heal (every active fault ended and recorded); safe to call again."""
        if self._closed:
            return
        self.workers.stop()
        if self.nemesis is not None:
            self.nemesis.stop()
        self._closed = True

    def crashes(self) -> list[Crash]:
        out = [Crash.of(who, e) for who, e in self.workers.failures()]
        if self.nemesis is not None and self.nemesis.error is not None:
            out.append(Crash.of("nemesis", self.nemesis.error))
        return out

    def _window(self, duration: float, hooks: Hooks) -> tuple[float, float, str]:
        t0 = self.clock.now()
        if self.nemesis is not None:
            self.nemesis.start(t0)
        self.workers.start()
        hooks.started(t0)
        ended = "duration"
        while (elapsed := self.clock.now() - t0) < duration:
            step = min(self.tick_s, duration - elapsed)
            if hooks.wait is not None:
                cut = hooks.wait(step)
            else:
                cut = False
                self.clock.wait(self.workers.finished, step)
            if cut:
                ended = "cut"
                break
            hooks.tick(self.clock.now() - t0)
            if (self.nemesis is not None and self.nemesis.error is not None) or self.workers.errors():
                ended = "crash"
                break
            if not self.workers.alive():
                ended = "done"
                break
        return t0, self.clock.now() - t0, ended

    def run(
        self, duration: float, *, recovery: float = 0.0, final: bool = True, hooks: Hooks | None = None
    ) -> Played:
        """The whole run: workload window, heal, then (unless something crashed) recovery and final ops."""
        hooks = hooks or Hooks()
        try:
            hooks.phase("workload")
            t0, workload_s, ended = self._window(duration, hooks)
            self.workers.stop()
            hooks.phase("heal")
            self.close()
            crashes = self.crashes()
            if crashes:
                return Played(t0, workload_s, "crash", tuple(crashes))
            if recovery:
                hooks.phase("recovery")
                self.clock.wait(self._never, recovery)
            if final:
                self.final_from = len(self.writer)
                hooks.phase("final")
                try:
                    self._final()
                except Exception as e:  # noqa: BLE001 - a client factory or recorder failing: the run crashed
                    return Played(t0, workload_s, ended, (Crash.of("final phase", e),), self.final_from)
            return Played(t0, workload_s, ended, (), self.final_from)
        finally:
            self.close()

    def _final(self) -> None:
        """Each final op is retried (as a fresh process, honestly recorded) until it completes ``ok``."""
        process = self.concurrency * FINAL_PROCESS_BASE
        for f, value in self.workload.final_ops():
            for _ in range(self.final_tries):
                client = self.final_client(process)
                try:
                    out = call(self.writer, client, process, f, value)
                finally:
                    client.close()
                process += 1
                if out.type == "ok":
                    break
                self.clock.wait(self._never, self.final_backoff)


def client_context(
    cluster: Any,
    timeout: float,
    flags: frozenset[str] = frozenset(),
    options: Mapping[str, Any] | None = None,
) -> ClientContext:
    """What clients and workloads may know about a run on ``cluster`` (its flags, options, nodes, addresses,
    backend) with the per-call ``timeout``. A cluster without ``client_context`` (a test's fake) gets
    ``flags`` and ``options`` as given."""
    if hasattr(cluster, "client_context"):
        context: ClientContext = cluster.client_context(timeout)
        return context
    return ClientContext(frozenset(flags), dict(options or {}), tuple(cluster.nodes), timeout=timeout)


def client_factory(target: Any, cluster: Any, context: ClientContext) -> ClientFactory:
    """Process -> a new client of ``target`` for ``cluster``, given ``context`` when the client accepts it."""
    return lambda process: make_client(target, cluster.client_addrs, process, context.timeout, context)


def workload_for(
    kind: str, options: Mapping[str, Any], context: ClientContext, registries: Registries | None = None
) -> Any:
    """The registered workload ``kind`` with ``options`` and ``context``; ``BadInput`` (as the experiment
    loader words it) when the kind is not registered or the workload rejects its options."""
    try:
        return workload_of(registries or Registries(), kind, options, context)
    except ParamError as e:
        raise BadInput(f"workload: {e.message}") from None


def play(cluster: Any, target: Target, workload: Workload | str, **kw: Any) -> History:
    """Play ``workload`` (and ``faults``) on a live ``cluster`` of ``target``; returns the history.
    Every option is ``play_run``'s."""
    return play_run(cluster, target, workload, **kw)[0]


def play_run(
    cluster: Any,
    target: Target,
    workload: Workload | str,
    *,
    duration: float,
    seed: int,
    concurrency: int = 3,
    rate: float | None = None,
    timeout: float = 1.0,
    faults: Schedule | FaultLoop | None = None,
    recovery: float = 0.0,
    final: bool = True,
    final_timeout: float | None = None,
    final_tries: int = 5,
    final_backoff: float = 0.5,
    writer: HistoryWriter | None = None,
    registries: Registries | None = None,
    options: Mapping[str, Any] | None = None,
    flags: frozenset[str] = frozenset(),
    target_options: Mapping[str, Any] | None = None,
) -> tuple[History, Played]:
    """Play ``workload`` (and ``faults``) on a live ``cluster`` of ``target``; returns the history and how
    the run went (``Played``: when the final phase began, ...).

    For tests and scripts that hold a cluster (``harness.platform.open_cluster``) and want the runner's run
    without an experiment file or a bundle. ``workload`` is a registered workload's name (made with
    ``options`` and the run's ``ClientContext``, checked as an experiment file's would be) or a workload
    object. Clients are made as the runner makes them (``client_factory``: with ``context=`` when they take
    it); final ops use ``final_timeout`` (default: ``timeout``). ``flags`` / ``target_options`` serve only a
    cluster that has no ``client_context`` of its own (a fake). Raises ``RunCrashed`` (after healing) when a
    worker or the nemesis crashed.
    """
    writer = writer if writer is not None else HistoryWriter()

    def client(t: float) -> ClientFactory:
        return client_factory(target, cluster, client_context(cluster, t, flags, target_options))

    if isinstance(workload, str):
        context = client_context(cluster, timeout, flags, target_options)
        made: Workload = workload_for(workload, options or {}, context, registries)
    elif options:
        raise BadInput("play: options= goes with a workload given by name; this workload is already made")
    else:
        made = workload

    def roles() -> Mapping[str, tuple[str, ...]]:  # asked only when a fault selects by role
        return live_roles(target, cluster.client_context(timeout), cluster)

    ctx = replace(default_context(cluster), roles=role_names(target, cluster.nodes))
    nemesis = Nemesis(faults, cluster, writer, registries, ctx, roles=roles) if faults is not None else None
    with Interpreter(
        made,
        client(timeout),
        writer,
        concurrency=concurrency,
        seed=seed,
        rate=rate,
        nemesis=nemesis,
        final_client=client(final_timeout if final_timeout is not None else timeout),
        final_tries=final_tries,
        final_backoff=final_backoff,
    ) as interp:
        played = interp.run(duration, recovery=recovery, final=final)
    if played.crashes:
        raise RunCrashed(played.crashes)
    return writer.history(), played
