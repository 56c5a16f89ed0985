"""The search at the heart of the linearizability checker: Wing-Gong-Lowe with just-in-time linearization.

One *part* (a key, or the whole history) is a list of prepared calls with an invocation position and a
completion position (``None`` for ``info`` / never-completed ops). As in Porcupine, call and return events
form a doubly linked list (here: two integer arrays, dancing-links style); the search linearizes the first
call whose step is legal and whose (linearized-set, state) configuration is new, and backtracks when it
meets a return event whose op is not yet linearized. Configurations are memoised as (bitset int, interned
state id); each op's transition function is cached per state id, so the model's ``step`` runs once per (op,
state).

Unknown outcomes (``known=False``) get no return event: such an op may be linearized at any later point or
never, so the search succeeds as soon as no return event is left (every definite op is placed). Sound
pruning there: unknown ops with the same call are interchangeable, so only the earliest-invoked unplaced one
of each class is tried (any linearization can be rewritten to place them in invocation order).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

from harness.checkers.models import Call

OK = "ok"
ILLEGAL = "illegal"
BUDGET = "budget"
_CHECK_EVERY = 8191


@dataclass(frozen=True, slots=True)
class PartOp:
    """One op of a part: the prepared call, event positions (any comparable ints) and its history index."""

    call: Call
    invoke_pos: int
    complete_pos: int | None
    index: int


@dataclass(frozen=True)
class Budget:
    """Limits of one check: a wall-clock deadline (``time.monotonic``) and the memory the memo of one part may
    use (parts run one after another and each frees its memo). A config costs about 100 bytes + n/7."""

    deadline: float | None = None
    max_bytes: int = 1 << 30


@dataclass
class SearchResult:
    """The verdict of one part; for ``illegal``, up to 3 longest partial linearizations (op numbers)."""

    status: str
    longest: list[list[int]] = field(default_factory=list)
    configs: int = 0
    limit: str = ""  # for ``budget``: "time" or "memory", whichever ran out


def event_order(ops: Sequence[PartOp]) -> list[int]:
    """Call (op i: ``i``) and return (op i: ``-1 - i``) events in time order; unknown ops have no return."""
    events: list[tuple[int, int, int]] = []  # (position, kind 0 call / 1 return, op)
    for i, op in enumerate(ops):
        events.append((op.invoke_pos, 0, i))
        if op.complete_pos is not None and op.call.known:
            events.append((op.complete_pos, 1, i))
    events.sort()
    return [i if kind == 0 else -1 - i for _, kind, i in events]


def gates(ops: Sequence[PartOp], order: Sequence[int]) -> list[int]:
    """Symmetry classes of unknown ops: for each op, the previous identical unknown op (or -1), which must be
    linearized first (identical unknown ops are interchangeable, so placing them in order loses nothing)."""
    gate = [-1] * len(ops)
    last_of_class: dict[Call, int] = {}
    for i in order:
        if i >= 0 and not ops[i].call.known:
            c = ops[i].call
            if c in last_of_class:
                gate[i] = last_of_class[c]
            last_of_class[c] = i
    return gate


def interned_step(
    step: Callable[[Hashable, Call], tuple[bool, Hashable]], calls: Sequence[Call], init: Hashable
) -> Callable[[int, int], int]:
    """``step`` over interned states: ``next(i, sid)`` runs call ``i`` from the state numbered ``sid`` and
    returns the number of the state it leads to (-1: illegal). ``init`` is state 0; each distinct state gets
    the next number the first time it is reached (both searches memoise configurations by these numbers)."""
    states: list[Hashable] = [init]
    state_id: dict[Hashable, int] = {init: 0}

    def nxt(i: int, sid: int) -> int:
        legal, nxt_state = step(states[sid], calls[i])
        if not legal:
            return -1
        ns = state_id.get(nxt_state)
        if ns is None:
            ns = state_id[nxt_state] = len(states)
            states.append(nxt_state)
        return ns

    return nxt


def search(
    ops: Sequence[PartOp],
    step: Callable[[Hashable, Call], tuple[bool, Hashable]],
    init: Hashable,
    budget: Budget,
) -> SearchResult:
    """Decide whether ``ops`` (one part) are linearizable from ``init``; never raises on a budget overrun."""
    n = len(ops)
    order = event_order(ops)
    m = len(order)
    end = m + 1
    nxt = list(range(1, m + 2))
    prv = list(range(-1, m + 1))
    op_of = [0, *order, 0]
    ret_of = [0] * n
    for e, x in enumerate(order, start=1):
        if x < 0:
            ret_of[-1 - x] = e
    bits = [1 << i for i in range(n)]
    gate = [0 if g < 0 else bits[g] for g in gates(ops, order)]

    trans: list[dict[int, int]] = [{} for _ in range(n)]
    compute = interned_step(step, [op.call for op in ops], init)

    cache: set[tuple[int, int]] = set()
    stack_e: list[int] = []
    stack_s: list[int] = []
    longest: list[list[int]] = []
    best = -1
    lin = 0
    sid = 0
    e = nxt[0]
    tick = 0
    max_configs = budget.max_bytes // (100 + n // 7)
    while True:
        tick += 1
        if not tick & _CHECK_EVERY:
            if budget.deadline is not None and time.monotonic() > budget.deadline:
                return SearchResult(BUDGET, longest, len(cache), "time")
            if len(cache) > max_configs:
                return SearchResult(BUDGET, longest, len(cache), "memory")
        if e == end:
            return SearchResult(OK, [], len(cache))
        i = op_of[e]
        if i >= 0:
            g = gate[i]
            if g and not lin & g:
                e = nxt[e]
                continue
            t = trans[i]
            ns = t.get(sid)
            if ns is None:
                ns = t[sid] = compute(i, sid)
            if ns >= 0:
                key = (lin | bits[i], ns)
                if key not in cache:
                    cache.add(key)
                    stack_e.append(e)
                    stack_s.append(sid)
                    sid = ns
                    lin = key[0]
                    p = prv[e]
                    q = nxt[e]
                    nxt[p] = q
                    prv[q] = p
                    r = ret_of[i]
                    if r:
                        p = prv[r]
                        q = nxt[r]
                        nxt[p] = q
                        prv[q] = p
                    e = nxt[0]
                    continue
            e = nxt[e]
        else:
            if not stack_e:
                return SearchResult(ILLEGAL, longest, len(cache))
            depth = len(stack_e)
            if depth > best:
                best = depth
                longest = [[op_of[x] for x in stack_e]]
            elif depth == best and len(longest) < 3:
                seq = [op_of[x] for x in stack_e]
                if seq not in longest:
                    longest.append(seq)
            e = stack_e.pop()
            sid = stack_s.pop()
            i = op_of[e]
            lin ^= bits[i]
            r = ret_of[i]
            if r:
                prv[nxt[r]] = r
                nxt[prv[r]] = r
            prv[nxt[e]] = e
            nxt[prv[e]] = e
            e = nxt[e]


def replay(
    ops: Sequence[PartOp],
    order: Sequence[int],
    step: Callable[[Hashable, Call], tuple[bool, Hashable]],
    init: Hashable,
) -> Hashable:
    """The state after applying ``order`` (op numbers) from ``init``; used to explain a counterexample."""
    state = init
    for i in order:
        legal, nxt_state = step(state, ops[i].call)
        if not legal:
            break
        state = nxt_state
    return state


def frontier(ops: Sequence[PartOp], placed: set[int]) -> list[int]:
    """Unplaced ops that real-time order allows next: invoked before every unplaced definite op completed."""
    rest = [i for i in range(len(ops)) if i not in placed]
    ends = [ops[i].complete_pos for i in rest if ops[i].call.known]
    horizon = min((x for x in ends if x is not None), default=None)
    return [i for i in rest if horizon is None or ops[i].invoke_pos < horizon]
