"""Concurrent workers: one thread per client process, each recording every operation honestly.

A worker asks its ``WorkerPlan`` for the next ``(f, value)``, records the invocation, calls the target's
client and records the completion exactly as the client reported it: ``ok``, ``fail`` (certainly did not
happen) or ``info`` (unknown), with the node that served it when the ``Completion`` names one (op field
``node``). After an ``info`` (or if the client raised, also recorded as ``info``) the
worker abandons that process id, as Jepsen does: it continues as a fresh process (id + concurrency) with a
fresh client and plan, so no process ever has two open operations. Its worker slot (``process %
concurrency``) stays: a workload whose ``plan`` takes ``slot=`` plans per worker (kv's ``read_only``).
``rate`` is shared among the workers (each waits ``concurrency / rate`` seconds between its ops, on the
injected clock: ``harness.runtime.clock``).
After an op that did not complete ``ok`` the worker waits a short back-off before its next op (``BACKOFF_S``,
doubling per consecutive failure up to ``BACKOFF_MAX_S``, reset by an ``ok``): a node that refuses at once
would otherwise be asked thousands of times a second, and a run with every node down would record a history
of 100,000 failures that then takes longer to check and draw than the run itself.
``Workers.finished`` is set when every worker has ended (its plan done, or it crashed).
"""

from __future__ import annotations

import inspect
import random
import threading
from collections.abc import Callable
from time import monotonic
from typing import Any

from harness.history import HistoryWriter
from harness.runtime.clock import MONOTONIC, Clock
from harness.target import Client, Completion, Workload

ClientFactory = Callable[[int], Client]
BACKOFF_S = 0.01  # after an op that did not complete ok; doubled per consecutive one ...
BACKOFF_MAX_S = 0.1  # ... up to this (a node's recovery is still seen within a tenth of a second)


def call(writer: HistoryWriter, client: Client, process: int, f: str, value: Any) -> Completion:
    """Record the invocation, invoke, record the completion; an exception becomes ``info`` with its error."""
    writer.record(process, "invoke", f, value)
    try:
        out = client.invoke(f, value)
        if not isinstance(out, Completion):
            out = Completion("info", None, f"client returned {type(out).__name__}, not a Completion")
    except Exception as e:  # noqa: BLE001 - an exception is an unknown outcome, never a lost op
        out = Completion("info", None, f"{type(e).__name__}: {e}")
    node = getattr(out, "node", None)
    writer.record(
        process,
        out.type,
        f,
        out.value if out.value is not None else value,
        error=out.error,
        node=node if isinstance(node, str) else None,
    )
    return out


class Worker(threading.Thread):
    """Runs one logical client slot until ``stop`` is set or its plan is done."""

    def __init__(
        self,
        slot: int,
        concurrency: int,
        workload: Workload,
        make_client: ClientFactory,
        writer: HistoryWriter,
        stop: threading.Event,
        seed: int,
        interval: float | None,
        clock: Clock = MONOTONIC,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name=f"worker-{slot}", daemon=True)
        self.clock = clock
        self.on_exit = on_exit
        self.process = slot
        self.concurrency = concurrency
        self.workload = workload
        self.make_client = make_client
        self.writer = writer
        self.stop_event = stop
        self.seed = seed
        self.interval = interval
        self.ops = 0
        self.error: BaseException | None = None

    def _fresh(self) -> tuple[Client, Any]:
        rng = random.Random(f"{self.seed}/{self.process}")
        slot = self.process % self.concurrency
        plan: Any = self.workload.plan
        if _takes(plan, "slot"):  # a workload that plans per worker (kv's read_only)
            return self.make_client(self.process), plan(self.process, rng, slot=slot)
        return self.make_client(self.process), plan(self.process, rng)

    def run(self) -> None:
        client = None
        try:
            client, plan = self._fresh()
            last: tuple[str, Any, Completion] | None = None
            next_at = self.clock.now()
            backoff = 0.0
            while not self.stop_event.is_set():
                if backoff and self.clock.wait(self.stop_event, backoff):
                    break
                if self.interval:
                    next_at += self.interval
                    delay = next_at - self.clock.now()
                    if delay > 0 and self.clock.wait(self.stop_event, delay):
                        break
                step = plan.next(last)
                if step is None:
                    break
                f, value = step
                out = call(self.writer, client, self.process, f, value)
                self.ops += 1
                last = (f, value, out)
                backoff = 0.0 if out.type == "ok" else min(BACKOFF_MAX_S, max(BACKOFF_S, 2 * backoff))
                if out.type == "info":
                    _close(client)
                    client = None
                    self.process += self.concurrency
                    client, plan = self._fresh()
                    last = None
        except BaseException as e:  # noqa: BLE001 - reported by the runner; the history so far is kept
            self.error = e
        finally:
            if client is not None:
                _close(client)
            if self.on_exit is not None:
                self.on_exit()


def _takes(fn: Any, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _close(client: Client) -> None:
    try:
        client.close()
    except Exception:  # noqa: BLE001, S110 - closing a broken connection must not stop the worker
        pass


class Workers:
    """Starts ``concurrency`` workers; ``stop()`` asks them to finish their current op and joins them."""

    def __init__(
        self,
        workload: Workload,
        make_client: ClientFactory,
        writer: HistoryWriter,
        *,
        concurrency: int,
        seed: int,
        rate: float | None = None,
        clock: Clock = MONOTONIC,
    ) -> None:
        self.stop_event = threading.Event()
        self.finished = threading.Event()
        self._lock = threading.Lock()
        interval = concurrency / rate if rate else None
        self.workers = [
            Worker(
                i,
                concurrency,
                workload,
                make_client,
                writer,
                self.stop_event,
                seed,
                interval,
                clock,
                self._ended,
            )
            for i in range(concurrency)
        ]
        self._running = 0

    def _ended(self) -> None:
        with self._lock:
            self._running -= 1
            if self._running <= 0:
                self.finished.set()

    def start(self) -> None:
        self._running = len(self.workers)
        if not self.workers:
            self.finished.set()
        for w in self.workers:
            w.start()

    @property
    def ops(self) -> int:
        return sum(w.ops for w in self.workers)

    def alive(self) -> bool:
        return any(w.is_alive() for w in self.workers)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask every worker to stop after its current op; join them all within ``timeout`` real seconds."""
        self.stop_event.set()
        deadline = monotonic() + timeout
        for w in self.workers:
            if w.is_alive() or w.ident is not None:
                w.join(max(0.0, deadline - monotonic()))

    def errors(self) -> list[BaseException]:
        return [w.error for w in self.workers if w.error is not None]

    def failures(self) -> list[tuple[str, BaseException]]:
        """``(who, exception)`` per crashed worker (an exception outside any op), ``who`` naming it."""
        return [(f"{w.name} (process {w.process})", w.error) for w in self.workers if w.error is not None]
