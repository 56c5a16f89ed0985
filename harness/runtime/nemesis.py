"""The nemesis: plays a fault plan against a live cluster and records every start and stop.

It runs in its own thread on the run's clock (seconds since the workload started; ``harness.runtime.clock``,
injected so tests follow a schedule in simulated time). A plan is either a ``Schedule`` (the seeded timeline
of an experiment, followed through ``schedule.simulate``) or a ``FaultLoop`` (one fault at a time, each chosen
when its turn comes, e.g. on whichever node leads now: what hand-written integration tests use). Each fault
start and stop is a ``harness.faultop.FaultOp`` (kind, affected nodes, the step's params, what start returned,
e.g. the grudge, and the kind's declared ``effect``), written by that module's codec into the same history as
the client ops. The nemesis always heals: a fault whose start raised is undone at once (best effort) before
the error is reported, and ``stop()`` ends every active fault (recording its stop, with the error if its stop
raised) and heals the network, so a run that crashed or was interrupted still records an end for every start.
While it plays the plan it also watches the nodes (``harness.runtime.watch``): an outage it did not cause is
recorded too. A fault that selects its nodes by role (``select: leader``) is resolved the moment it starts:
the nemesis asks the run's role probe (``roles``), resolves the selector (``harness.faults.roles.resolve``,
seeded by the step's ``select_seed``) and records the selection (nodes, why, the probe's answer, any
fallback) as ``selected`` in the fault's start and stop ops; the stop acts on the same nodes.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from harness.cluster.base import Cluster
from harness.faultop import START, STOP, FaultOp
from harness.faults.base import FaultContext, allowed_nodes, effect_of
from harness.faults.event import FaultEvent
from harness.faults.roles import RoleProbe, ask, resolve
from harness.history import HistoryWriter
from harness.registry import Registries
from harness.runtime.clock import MONOTONIC, Clock
from harness.runtime.watch import NodeWatch
from harness.schedule import Schedule, simulate

Choose = Callable[[Cluster, random.Random], "FaultEvent | None"]


@dataclass(frozen=True)
class FaultLoop:
    """Faults one after another: wait ``gap`` (seeded), ``choose(cluster, rng)`` the next, hold it, stop it.

    ``choose`` returns a ``FaultEvent`` (its ``kind``, ``params`` and ``duration``; its ``at`` is replaced by
    the time it really starts) or ``None`` to let this turn pass. ``kinds`` adds fault kinds beyond the
    registry's: name -> an object with ``network``, ``nodes(params, ctx)``, ``start(cluster, params)`` (->
    details to record) and ``stop(cluster, params)``, as ``harness.faults.base.FaultKind`` has.
    """

    choose: Choose
    gap: tuple[float, float] = (0.5, 1.0)
    seed: int = 0
    kinds: Mapping[str, Any] = field(default_factory=dict)


def default_context(cluster: Cluster) -> FaultContext:
    """The nodes and links of ``cluster`` as fault kinds see them (links only when its network knows them)."""
    topology = getattr(getattr(cluster, "net", None), "topology", None)
    if topology is not None:
        return FaultContext(tuple(cluster.nodes), FaultContext.of(topology).links)
    return FaultContext(tuple(cluster.nodes), ())


class Nemesis:
    """Plays ``plan`` on ``cluster``; ``t0`` is the clock's time when the workload started."""

    def __init__(
        self,
        plan: Schedule | FaultLoop,
        cluster: Cluster,
        writer: HistoryWriter,
        registries: Registries | None = None,
        ctx: FaultContext | None = None,
        *,
        clock: Clock = MONOTONIC,
        roles: RoleProbe | None = None,
    ) -> None:
        self.plan = plan
        self.cluster = cluster
        self.writer = writer
        self.registries = registries if registries is not None else Registries()
        self.ctx = ctx if ctx is not None else default_context(cluster)
        self._clock = clock
        self.roles = roles  # who holds which role now (``harness.target.live_roles``), for ``select``
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._active: dict[int, FaultEvent] = {}
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.t0 = clock.now()
        self._acting: Counter[str] = Counter()  # nodes a scheduled process fault is acting on right now
        self.watch = NodeWatch(cluster, writer, self.acting_on) if NodeWatch.supported(cluster) else None

    @property
    def schedule(self) -> Schedule:
        """The fixed schedule played (empty for a ``FaultLoop``, whose faults are chosen as it goes)."""
        return self.plan if isinstance(self.plan, Schedule) else Schedule()

    def kind(self, name: str) -> Any:
        extra = self.plan.kinds if isinstance(self.plan, FaultLoop) else {}
        return extra[name] if name in extra else self.registries.fault(name)

    def acting_on(self, node: str) -> bool:
        with self._lock:
            return self._acting[node] > 0

    def _touch(self, ev: FaultEvent, delta: int) -> None:
        kind = self.kind(ev.kind)
        if getattr(kind, "network", False):
            return
        with self._lock:
            for n in kind.nodes(ev.params, self.ctx):
                self._acting[n] += delta

    @property
    def active(self) -> list[FaultEvent]:
        with self._lock:
            return list(self._active.values())

    def _op(self, phase: str, ev: FaultEvent, extra: Mapping[str, Any] | None = None) -> FaultOp:
        kind = self.kind(ev.kind)
        details = {**ev.params, "at": ev.at, "duration": ev.duration}
        if "nodes" in ev.params:  # the step's own node list (an order, the cut-off side) beside the affected
            details["step_nodes"] = list(ev.params["nodes"])
        nodes = tuple(sorted(kind.nodes(ev.params, self.ctx)))
        return FaultOp(phase, ev.kind, nodes, {**details, **(extra or {})}, effect_of(kind))

    def _resolved(self, ev: FaultEvent) -> FaultEvent:
        """``ev`` with the nodes its ``select`` names now (unchanged when it selects nothing)."""
        selector = ev.params.get("select")
        if not selector:
            return ev
        answer: Mapping[str, tuple[str, ...]] | None = None
        problem: str | None = "this run has no role probe (the target reports no live roles)"
        if self.roles is not None:
            answer, problem = ask(self.roles)
        chosen = resolve(
            str(selector),
            allowed_nodes(ev.params, self.ctx),
            answer,
            random.Random(int(ev.params.get("select_seed") or 0)),
            problem=problem,
            leave_one=self.ctx.nodes if getattr(self.kind(ev.kind), "network", False) else (),
        )
        return replace(ev, params={**ev.params, "nodes": list(chosen.nodes), "selected": chosen.record()})

    def _start(self, original: FaultEvent) -> None:
        ev = self._resolved(original)
        kind = self.kind(ev.kind)
        self._touch(ev, +1)  # before the fault acts, so the watch never mistakes it for an outside outage
        try:
            extra = kind.start(self.cluster, ev.params)
        except BaseException:
            with contextlib.suppress(Exception):  # undo what part of it took effect; the error is reported
                kind.stop(self.cluster, ev.params)
            self._touch(ev, -1)
            raise
        with self._lock:
            self._active[id(original)] = ev  # the resolved fault, which its stop undoes
        self._op(START, ev, extra).write(self.writer)

    def _end(self, original: FaultEvent, error: str | None = None) -> None:
        self._finish(id(original), error)

    def _finish(self, key: int, error: str | None = None) -> None:
        with self._lock:
            ev = self._active.pop(key, None)
            if ev is None:
                return
        try:
            self.kind(ev.kind).stop(self.cluster, ev.params)
        except Exception as e:  # noqa: BLE001 - the stop is recorded either way; heal() follows
            error = f"{type(e).__name__}: {e}"
        finally:
            self._touch(ev, -1)
        self._op(STOP, ev).write(self.writer, error=error)

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` on the clock; False when ``stop`` was called meanwhile."""
        if seconds > 0 and self._clock.wait(self._stop, seconds):
            return False
        return not self._stop.is_set()

    def _follow(self, schedule: Schedule) -> None:
        for t, what, ev in simulate(schedule):
            if not self._sleep(self.t0 + t - self._clock.now()):
                return
            self._start(ev) if what == "start" else self._end(ev)

    def _loop(self, loop: FaultLoop) -> None:
        rng = random.Random(loop.seed)
        while self._sleep(rng.uniform(*loop.gap)):
            ev = loop.choose(self.cluster, rng)
            if ev is None:
                continue
            ev = replace(ev, at=round(self._clock.now() - self.t0, 3))
            self._start(ev)
            if not self._sleep(ev.duration):
                return  # stop() ends it
            self._end(ev)

    def inject(self, kind: str, duration: float = 0.0, **params: Any) -> FaultEvent:
        """Start one fault by hand, now (its params completed and checked as a schedule step's are, with a
        fixed seed); it lasts until ``end(fault)`` or ``stop()``. For tests that drive faults themselves."""
        impl = self.kind(kind)
        if hasattr(impl, "random_params"):
            params = impl.random_params(random.Random(0), self.ctx, params)
        if hasattr(impl, "validate"):
            impl.validate(params, self.ctx)
        ev = FaultEvent(kind, round(max(0.0, self._clock.now() - self.t0), 3), duration, params)
        self._start(ev)
        return ev

    def end(self, fault: FaultEvent) -> None:
        """End one fault started by ``inject`` (recorded; nothing happens if it already ended)."""
        self._end(fault)

    def heal(self) -> None:
        """``stop()``: end every active fault and heal the network."""
        self.stop()

    def run(self) -> None:
        """Play the plan until it ends or ``stop`` is called (blocking; ``start`` threads it)."""
        try:
            if isinstance(self.plan, FaultLoop):
                self._loop(self.plan)
            else:
                self._follow(self.plan)
        except BaseException as e:  # noqa: BLE001 - surfaced by the interpreter after healing
            self.error = e

    def start(self, t0: float | None = None) -> None:
        self.t0 = self._clock.now() if t0 is None else t0
        self._thread = threading.Thread(target=self.run, name="nemesis", daemon=True)
        self._thread.start()
        if self.watch is not None:
            self.watch.start()

    def stop(self) -> None:
        """Stop playing, end every active fault (recording it) and heal the network; safe to call twice."""
        self._stop.set()
        if self.watch is not None:
            self.watch.stop()
        if self._thread is not None and self._thread.ident is not None:  # an interrupt may come before start
            self._thread.join(timeout=30)
        with self._lock:
            keys = list(self._active)
        for key in keys:
            self._finish(key)
        net = getattr(self.cluster, "net", None)
        if net is not None:
            net.heal()
