"""Seeded generators of realistic faulty kv histories for the checker's acceptance tests.

Both simulate clients against a keyed register with unique written values, then break it the way a real
system breaks, and record what the clients saw (kv model: ``{"key", "value"}`` / ``{"key", "from", "to"}``):

``lost_write``           a primary without persistence killed and restarted: requests during the outage time
                         out (``info``; those in flight when it died may have taken effect), and after the
                         restart every key is empty again although writes were acknowledged.
``ack_before_commit``    a leader that acknowledges writes before a majority has them, cut off by partitions
                         now and then: its clients keep getting acknowledgements (and reading its local state)
                         while the majority elects a new leader from the committed state; at the heal the old
                         leader's acknowledged writes are gone.

A client whose request timed out continues as a fresh process, as Jepsen's do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.models import MISMATCH
from harness.history import History
from harness.op import Op


@dataclass
class _Recorder:
    """Collects (time, order, process, type, f, value, error) events and builds the History."""

    events: list[tuple[float, int, Any, str, str, Any, str | None]] = field(default_factory=list)

    def op(
        self, proc: Any, t0: float, t1: float, f: str, inv: Any, typ: str, out: Any, err: str | None
    ) -> None:
        self.events.append((t0, 0, proc, "invoke", f, inv, None))
        self.events.append((t1, 1, proc, typ, f, out, err))

    def history(self) -> History:
        self.events.sort(key=lambda e: (e[0], e[1]))
        return History(
            Op(n, int(t * 1e9), p, typ, f, v, err)  # type: ignore[arg-type]
            for n, (t, _, p, typ, f, v, err) in enumerate(self.events)
        )


def _pick(rng: random.Random, keys: int, values: list[int], seen: dict[int, Any]) -> tuple[str, int, Any]:
    """(f, key, argument): half reads, 40% writes of a fresh value, 10% cas from the value last seen."""
    key = rng.randrange(keys)
    r = rng.random()
    if r < 0.5:
        return "read", key, None
    values[0] += 1
    if r < 0.9:
        return "write", key, values[0]
    return "cas", key, (seen.get(key), values[0])


def _inv(f: str, key: int, arg: Any) -> dict[str, Any]:
    if f == "cas":
        return {"key": key, "from": arg[0], "to": arg[1]}
    return {"key": key, "value": arg}


def _apply(state: dict[int, Any], f: str, key: int, arg: Any) -> tuple[bool, Any]:
    """(succeeded, value read) of one op on ``state``."""
    if f == "read":
        return True, state.get(key)
    if f == "write":
        state[key] = arg
        return True, None
    if state.get(key) == arg[0]:
        state[key] = arg[1]
        return True, None
    return False, None


def lost_write(
    seed: int, n_ops: int = 2900, keys: int = 3, rate: float = 200.0, procs: int = 10, down: float = 1.0,
    timeout: float = 0.3,
) -> History:  # fmt: skip
    """About ``n_ops`` ops at ``rate`` ops/s; the primary dies once, mid-run, for ``down`` seconds."""
    rng = random.Random(seed)
    duration = n_ops / rate
    crash = duration * rng.uniform(0.35, 0.65)
    back = crash + down
    rec = _Recorder()
    state: dict[int, Any] = {}
    values = [seed * 1_000_000]
    seen: dict[int, Any] = {}
    # Each client loops; ops of all clients are applied in order of their linearization points.
    pending: list[tuple[float, float, float, int, int]] = []  # (point, start, end, client, n)
    next_free = [rng.random() * procs / rate for _ in range(procs)]
    specs: list[tuple[float, float, float, int]] = []
    while len(specs) < n_ops:
        c = min(range(procs), key=next_free.__getitem__)
        start = next_free[c]
        lat = 0.0005 + rng.expovariate(1 / 0.003)
        specs.append((start, start + lat, start + rng.random() * lat, c))
        next_free[c] = start + max(lat + 1e-6, procs / rate * rng.uniform(0.5, 1.5))
    for n, (start, end, point, c) in enumerate(specs):
        pending.append((point, start, end, c, n))
    pending.sort()
    process = list(range(procs))
    fresh = procs
    wiped = False
    for point, start, end, c, _ in pending:
        f, key, arg = _pick(rng, keys, values, seen)
        inv = _inv(f, key, arg)
        if crash <= start < back or crash <= point < back:  # no primary: the request times out
            rec.op(process[c], start, start + timeout, f, inv, "info", inv, "timeout")
            process[c], fresh = fresh, fresh + 1
            continue
        if point >= back and not wiped:
            state.clear()  # restarted without persistence: every key is gone
            wiped = True
        ok, got = _apply(state, f, key, arg)
        if start < crash <= end:  # took effect (or not), but the reply died with the primary
            rec.op(process[c], start, start + timeout, f, inv, "info", inv, "timeout")
            process[c], fresh = fresh, fresh + 1
            continue
        if f == "read":
            seen[key] = got
            rec.op(process[c], start, end, f, inv, "ok", {"key": key, "value": got}, None)
        elif ok:
            seen[key] = arg if f == "write" else arg[1]
            rec.op(process[c], start, end, f, inv, "ok", inv, None)
        else:
            rec.op(process[c], start, end, f, inv, "fail", inv, MISMATCH)
    return rec.history()


def ack_before_commit(
    seed: int, duration: float = 36.0, keys: int = 2, rate: float = 300.0, procs: int = 6,
    period: float = 3.0, cut: float = 2.0, election: float = 0.5, timeout: float = 1.5,
) -> History:  # fmt: skip
    """Partitions every ``period`` s for ``cut`` s cut the leader off; half the clients stay with it."""
    rng = random.Random(seed)
    rec = _Recorder()
    committed: dict[int, Any] = {}
    local: dict[int, Any] = {}
    values = [seed * 1_000_000]
    seen: dict[int, Any] = {}
    specs: list[tuple[float, float, float, int]] = []
    next_free = [rng.random() * procs / rate for _ in range(procs)]
    while True:
        c = min(range(procs), key=next_free.__getitem__)
        start = next_free[c]
        if start >= duration:
            break
        lat = 0.001 + rng.expovariate(1 / 0.004)
        specs.append((start + rng.random() * lat, start, start + lat, c))
        next_free[c] = start + max(lat + 1e-6, procs / rate * rng.uniform(0.5, 1.5))
    specs.sort()
    process = list(range(procs))
    fresh = procs
    for point, start, end, c in specs:
        k = int(point // period)
        into = point - k * period
        cut_off = k > 0 and into < cut
        f, key, arg = _pick(rng, keys, values, seen)
        inv = _inv(f, key, arg)
        with_old = cut_off and (c + k) % 2 == 0
        if cut_off and not with_old and into < election:  # the majority is electing: the request times out
            rec.op(process[c], start, start + timeout, f, inv, "info", inv, "timeout")
            process[c], fresh = fresh, fresh + 1
            continue
        if not cut_off:
            ok, got = _apply(committed, f, key, arg)
            local = dict(committed)  # healed: the old leader's unacknowledged-by-a-majority log is truncated
        elif with_old:
            ok, got = _apply(local, f, key, arg)  # acknowledged, never committed
        else:
            ok, got = _apply(committed, f, key, arg)
        if f == "read":
            seen[key] = got
            rec.op(process[c], start, end, f, inv, "ok", {"key": key, "value": got}, None)
        elif ok:
            seen[key] = arg if f == "write" else arg[1]
            rec.op(process[c], start, end, f, inv, "ok", inv, None)
        else:
            rec.op(process[c], start, end, f, inv, "fail", inv, MISMATCH)
    return rec.history()
