"""A deterministic in-memory network and fake clock for ``RaftCore``s: the unit-test bench of the Raft core.

``Sim(nodes, seed, loss=..., max_delay_ms=...)`` runs one ``RaftCore`` per node; time only moves in
``run(ms)``; every message is dropped with probability ``loss`` (or when a partition blocks its link, or its
target is down) and otherwise delivered after a random delay, so messages are also reordered. ``crash`` /
``restart`` keep each node's ``MemoryStorage`` (a restart replays the durable log into a fresh state machine).
After every step the Raft safety properties are checked and the first violation raises ``SafetyViolation``:

- election safety: at most one leader per term, ever;
- log matching: two logs with the same term at an index are identical up to that index;
- leader completeness / state machine safety: an entry committed at an index is never replaced, and every new
  leader holds all entries committed before it was elected.

Reusable by any application of the core (the KV store, the lock service): pass its ``StateMachine`` factory.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable
from typing import Any

from chaos_targets.raft.core import Applied, RaftConfig, RaftCore, StateMachine
from chaos_targets.raft.storage import Entry, MemoryStorage


class SafetyViolation(AssertionError):
    pass


class RecordingSM:
    """A state machine that only records the commands it applied, in order."""

    def __init__(self) -> None:
        self.applied: list[Any] = []

    def apply(self, command: Any) -> Any:
        self.applied.append(command)
        return len(self.applied)


class Sim:
    def __init__(
        self,
        nodes: Iterable[str],
        seed: int,
        loss: float = 0.0,
        max_delay_ms: int = 0,
        config: RaftConfig | None = None,
        sm_factory: Callable[[], StateMachine] = RecordingSM,
        step_ms: int = 5,
    ) -> None:
        self.nodes = tuple(nodes)
        self.rng = random.Random(seed)
        self.loss, self.max_delay_ms, self.step_ms = loss, max_delay_ms, step_ms
        self.config = config or RaftConfig()
        self.sm_factory = sm_factory
        self.now = 0
        self.storages = {n: MemoryStorage() for n in self.nodes}
        self.sms: dict[str, StateMachine] = {}
        self.cores: dict[str, RaftCore] = {}
        self.down: set[str] = set()
        self.blocked: set[tuple[str, str]] = set()
        self._queue: list[tuple[int, int, str, dict[str, Any]]] = []
        self._seq = 0
        self.leaders_by_term: dict[int, str] = {}
        self.committed: dict[int, Entry] = {}
        self.commit_term: dict[int, int] = {}  # a term >= the one in which the entry was committed
        self.applied: dict[str, list[Applied]] = {n: [] for n in self.nodes}
        for n in self.nodes:
            self._boot(n)

    def _boot(self, n: str) -> None:
        self.sms[n] = self.sm_factory()
        self.cores[n] = RaftCore(
            n,
            self.nodes,
            self.storages[n],
            self.sms[n],
            random.Random(self.rng.random()),
            self.now,
            self.config,
        )

    # ----- faults ----------
    def crash(self, n: str) -> None:
        self.down.add(n)

    def restart(self, n: str) -> None:
        self.down.discard(n)
        self._boot(n)

    def partition(self, *groups: Iterable[str]) -> None:
        """Only nodes of the same group can talk; nodes in no group are isolated."""
        gs = [set(g) for g in groups]
        self.blocked = {
            (a, b)
            for a in self.nodes
            for b in self.nodes
            if a != b and not any(a in g and b in g for g in gs)
        }

    def heal(self) -> None:
        self.blocked = set()

    # ----- driving ----------
    def leader(self) -> str | None:
        """The leader of the highest term among live nodes, if any."""
        live = [c for n, c in self.cores.items() if n not in self.down and c.is_leader]
        return max(live, key=lambda c: c.term).id if live else None

    def propose(self, n: str, command: Any) -> tuple[int, int]:
        out = self.cores[n].propose(command)
        self._flush(n)
        return out

    def run(self, ms: int) -> None:
        end = self.now + ms
        while self.now < end:
            self.now += self.step_ms
            while self._queue and self._queue[0][0] <= self.now:
                _, _, dst, msg = heapq.heappop(self._queue)
                if dst not in self.down:
                    self.cores[dst].receive(msg)
                    self._flush(dst)
            for n in self.nodes:
                if n not in self.down:
                    self.cores[n].tick(self.now)
                    self._flush(n)
            self.check()

    def run_until(self, cond: Callable[[], bool], limit_ms: int) -> bool:
        end = self.now + limit_ms
        while self.now < end:
            if cond():
                return True
            self.run(self.step_ms)
        return cond()

    def _flush(self, src: str) -> None:
        core = self.cores[src]
        self.applied[src].extend(core.take_applied())
        for dst, msg in core.take_messages():
            if (src, dst) in self.blocked or dst in self.down or self.rng.random() < self.loss:
                continue
            self._seq += 1
            at = self.now + self.rng.randint(0, self.max_delay_ms)
            heapq.heappush(self._queue, (at, self._seq, dst, msg))

    # ----- safety ----------
    def check(self) -> None:
        live = [self.cores[n] for n in self.nodes if n not in self.down]
        for c in live:
            if c.is_leader:
                prev = self.leaders_by_term.setdefault(c.term, c.id)
                if prev != c.id:
                    raise SafetyViolation(f"two leaders in term {c.term}: {prev} and {c.id}")
                for idx, e in self.committed.items():
                    if c.term <= self.commit_term[idx]:
                        continue  # a stale leader of an older term need not hold it
                    if c.term_at(idx) != e.term or c.log[idx - 1] != e:
                        raise SafetyViolation(f"leader {c.id} (term {c.term}) lacks committed entry {idx}")
        for c in live:
            for idx in range(1, c.commit + 1):
                e = c.log[idx - 1]
                known = self.committed.setdefault(idx, e)
                self.commit_term.setdefault(idx, c.term)
                if known != e:
                    raise SafetyViolation(f"{c.id} committed {e} at {idx}, but {known} was committed there")
        for i, a in enumerate(live):
            for b in live[i + 1 :]:
                n = min(a.last_index, b.last_index)
                for idx in range(n, 0, -1):
                    if a.term_at(idx) == b.term_at(idx):
                        if a.log[:idx] != b.log[:idx]:
                            raise SafetyViolation(
                                f"logs of {a.id} and {b.id} differ below matching index {idx}"
                            )
                        break
