"""Cheap, sound reasoning on one part before the search (register-like models only: read, write/put, cas).

Two tools, both exact for the model's semantics and checked against the brute-force oracle in the tests:

``drop_unobserved(ops, read_fs)``
    An unknown-outcome op (``info`` or never completed) that writes a value nothing observes can be dropped:
    take any linearization that places it, remove it, and the states differ only between it and the next
    state-setting op, where no op could have been (a read there would have read the dropped value, a cas
    there would have compared against it). Observers are completed reads (their value) and every cas (its
    ``from``). A completed cas that *failed* on a mismatch observes "the value is not X", which removing
    a write can break, so a part holding one keeps all its ops. With unique written values (the harness's
    workloads write them) nearly every unknown write that no read saw goes, which is what keeps histories
    with many timed-out writes small.

``find_witness(ops, init, read_fs)``
    Definite violations found without searching, returned as a small sub-list of ops that is itself not
    linearizable (the caller confirms it with the search, and explains it as usual):
      - a read (or a successful cas) of a value that no op invoked before it completed could have written
        and that is not the initial value;
      - a stale read: every op that could have written the value read (and the initial state, when the
        value is the initial one) is followed, in real time and before the read began, by an acknowledged
        write or successful cas. The read misses a value every linearization must already hold: a Redis
        primary restarted empty answering "nothing" after acknowledged writes is the typical case.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Sequence

from harness.checkers.linsearch import PartOp

_WRITES = frozenset({"write", "put"})


def supported(ops: Sequence[PartOp], read_fs: frozenset[str]) -> bool:
    """Whether every op of the part is a read, write/put or cas (the semantics these rules assume)."""
    return all(op.call.f in read_fs or op.call.f in _WRITES or op.call.f == "cas" for op in ops)


def _writes(op: PartOp) -> tuple[bool, Hashable]:
    """(may set the state, to what): writes always, cas unless it completed with a mismatch."""
    c = op.call
    if c.f in _WRITES:
        return True, c.arg
    if c.f == "cas" and (not c.known or c.out):
        return True, c.arg[1]
    return False, None


def drop_unobserved(ops: Sequence[PartOp], read_fs: frozenset[str]) -> list[PartOp]:
    """``ops`` without the unknown-outcome writes whose value no read or cas observes (see the module doc)."""
    kept = list(ops)
    if not supported(kept, read_fs):
        return kept
    if any(op.call.f == "cas" and op.call.known and not op.call.out for op in kept):
        return kept
    while True:
        observed: set[Hashable] = set()
        for op in kept:
            c = op.call
            if c.f in read_fs and c.known:
                observed.add(c.out)
            elif c.f == "cas":
                observed.add(c.arg[0])
        nxt = [op for op in kept if op.call.known or _writes(op)[1] in observed]
        if len(nxt) == len(kept):
            return kept
        kept = nxt


def find_witness(
    ops: Sequence[PartOp], init: Hashable, read_fs: frozenset[str]
) -> tuple[str, int, list[int]] | None:
    """(reason, the observing op, op numbers of a non-linearizable sub-list holding it) when a cheap rule
    proves the part illegal."""
    if not supported(ops, read_fs):
        return None
    sources: dict[Hashable, list[int]] = {}
    definite: list[tuple[int, int, int]] = []  # (invoke, complete, op) of acknowledged state-setting ops
    for i, op in enumerate(ops):
        may, value = _writes(op)
        if may:
            sources.setdefault(value, []).append(i)
            if op.call.known and op.complete_pos is not None:
                definite.append((op.invoke_pos, op.complete_pos, i))
    definite.sort()
    starts = [d[0] for d in definite]
    # suffix minimum of completions: the earliest-completing definite write invoked at or after position k
    suffix: list[tuple[int, int]] = [(1 << 62, -1)] * (len(definite) + 1)
    for k in range(len(definite) - 1, -1, -1):
        suffix[k] = min(suffix[k + 1], (definite[k][1], definite[k][2]))

    def shadow(after: int | None, before: int) -> int | None:
        """A definite write invoked after position ``after`` (None: any) that completed before ``before``."""
        k = 0 if after is None else bisect.bisect_right(starts, after)
        done, i = suffix[k]
        return i if i >= 0 and done < before else None

    for r, op in enumerate(ops):
        c = op.call
        if not c.known or op.complete_pos is None:
            continue
        if c.f in read_fs:
            value = c.out
        elif c.f == "cas" and c.out:
            value = c.arg[0]
        else:
            continue
        cands = [s for s in sources.get(value, []) if s != r and ops[s].invoke_pos < op.complete_pos]
        if not cands and value != init:
            return (f"observed {value!r}, which no operation invoked before it could have written", r, [r])
        witness = [r]
        for s in cands:
            src = ops[s]
            if not src.call.known or src.complete_pos is None:
                break  # an unknown write may take effect at any later point: never shadowed
            d = shadow(src.complete_pos, op.invoke_pos)
            if d is None:
                break
            witness += [s, d]
        else:
            if value == init:
                d = shadow(None, op.invoke_pos)
                if d is None:
                    continue
                witness.append(d)
            return (
                f"observed {value!r}, but every write of it (and the initial value) was overwritten by an "
                "acknowledged write before this operation began",
                r,
                sorted(set(witness)),
            )
    return None
