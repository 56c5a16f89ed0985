"""The linearizability checker: ``check(history, model=, init=, time_limit=, max_memory_mb=) -> Result``.

Pairs the client ops of the history, lets the model split them into independent parts (P-compositionality),
prepares each op into a hashable ``Call`` and runs the search of ``linsearch`` part by part, smallest first,
under one budget: wall-clock ``time_limit`` in seconds for the whole check, and ``max_memory_mb`` for the memo
of the part being searched. The verdict is false as soon as one part is illegal; parts the budget did not
reach are reported as ``unknown_parts``. Details are ``LinearizableDetails`` (a ``FailedPart`` when one part
is illegal), stored in the agreed shape (see docs/checkers.md):

    {"model", "parts", "ops", "dropped_unobserved", "failed_part": {"key", "ops", "longest", "stuck_ops",
     "final_state", "describe", ["reason", "reason_op"]} | null, "unknown_parts": [keys], "elapsed_s",
     ["limits"]}

All op numbers in details are the history indices of the invocations.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from harness.checkers import fastkv
from harness.checkers.base import UNKNOWN, Details, Result, Validity
from harness.checkers.contract import Checker
from harness.checkers.linsearch import BUDGET, ILLEGAL, Budget, PartOp, SearchResult, frontier, replay, search
from harness.checkers.models import Call, Model, get_model
from harness.checkers.prune import drop_unobserved, find_witness
from harness.errors import BadInput
from harness.history import History, Pair
from harness.op import show

StepFn = Callable[[Hashable, Call], tuple[bool, Hashable]]
SearchFn = Callable[[list[PartOp], StepFn, Hashable, Budget], SearchResult]

NAME = "linearizable"
DEFAULT_MAX_MEMORY_MB = 1024


@dataclass(frozen=True)
class FailedPart:
    """The counterexample of an illegal part (op numbers are history indices of invocations): its ops, the
    longest partial linearizations found, the ops none of which could go next, the model state after the
    longest, and the model's words for the ops named. ``reason`` / ``reason_op``: set when a pre-check proved
    the violation (``prune.find_witness``)."""

    key: Any
    ops: list[int]
    longest: list[list[int]]
    stuck_ops: list[int]
    final_state: Any = None
    describe: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None
    reason_op: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "key": self.key,
            "ops": list(self.ops),
            "longest": [list(x) for x in self.longest],
            "stuck_ops": list(self.stuck_ops),
            "final_state": self.final_state,
            "describe": dict(self.describe),
        }
        if self.reason is not None:
            d["reason"], d["reason_op"] = self.reason, self.reason_op
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FailedPart:
        return cls(
            key=d.get("key"),
            ops=[i for i in d.get("ops") or [] if isinstance(i, int)],
            longest=[
                [i for i in x if isinstance(i, int)] for x in d.get("longest") or [] if isinstance(x, list)
            ],
            stuck_ops=[i for i in d.get("stuck_ops") or [] if isinstance(i, int)],
            final_state=d.get("final_state"),
            describe={str(k): str(v) for k, v in (d.get("describe") or {}).items()},
            reason=d.get("reason"),
            reason_op=d.get("reason_op"),
        )


@dataclass(frozen=True)
class LinearizableDetails(Details):
    """What the linearizability checker found: the model, how the history split into parts, the failed part
    (``None``: no part was illegal), the parts the budget did not decide and which limit ran out."""

    model: str | None = None
    parts: int | None = None
    ops: int | None = None
    dropped_unobserved: int | None = None  # ops dropped by pruning (None: pruning did not run)
    failed_part: FailedPart | None = None
    unknown_parts: list[Any] = field(default_factory=list)
    elapsed_s: float | None = None
    limits: list[str] | None = None  # only when some part was not decided: "time" / "memory"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "model": self.model,
            "parts": self.parts,
            "ops": self.ops,
            "dropped_unobserved": self.dropped_unobserved,
            "failed_part": None if self.failed_part is None else self.failed_part.to_dict(),
            "unknown_parts": list(self.unknown_parts),
            "elapsed_s": self.elapsed_s,
        }
        if self.limits is not None:
            d["limits"] = list(self.limits)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LinearizableDetails:
        fp = d.get("failed_part")
        limits = d.get("limits")
        return cls(
            model=d.get("model"),
            parts=d.get("parts"),
            ops=d.get("ops"),
            dropped_unobserved=d.get("dropped_unobserved"),
            failed_part=FailedPart.from_dict(fp) if isinstance(fp, Mapping) else None,
            unknown_parts=list(d.get("unknown_parts") or []),
            elapsed_s=d.get("elapsed_s"),
            limits=[str(x) for x in limits] if isinstance(limits, list) else None,
        )


def prepare_part(model: Model, pairs: list[Pair]) -> list[PartOp]:
    """Prepared ops of one part, in invocation order (dropped ops: certain failures, unknown reads)."""
    ops: list[PartOp] = []
    for p in pairs:
        call = model.prepare(p)
        if call is None:
            continue
        done = p.complete.index if call.known and p.complete is not None else None
        ops.append(PartOp(call, p.invoke.index, done, p.invoke.index))
    return ops


def _json_key(key: Hashable) -> Any:
    return list(key) if isinstance(key, tuple) else key


ENGINES = ("auto", "native", "python")
NIL_READS = ("strict", "any")


def _engine(engine: str, m: Model) -> SearchFn:
    if engine not in ENGINES:
        raise BadInput(f"unknown search engine {engine!r}; valid: {', '.join(ENGINES)}")
    if engine == "python":
        return search
    from harness.checkers import native  # ctypes is loaded only when a search runs

    if native.available():
        return functools.partial(native.search, read_fs=m.read_fs)
    if engine == "native":
        raise BadInput(f"the native linearizability core is unavailable: {native.why_unavailable()}")
    return search


def check(
    history: History,
    model: str | Model = "kv",
    init: Any = None,
    time_limit: float | None = None,
    max_memory_mb: float = DEFAULT_MAX_MEMORY_MB,
    nil_reads: str = "strict",
    engine: str = "auto",
    **_options: Any,
) -> Result:
    """Check ``history`` against ``model``; false with a counterexample, unknown when the budget ran out.

    ``nil_reads="any"`` reads a completed read of nil as Knossos does (its value is unknown: it matches any
    state; register and cas-register models). ``engine`` picks the search: ``auto`` (native when built),
    ``native`` or ``python``."""
    started = time.monotonic()
    if nil_reads not in NIL_READS:
        raise BadInput(f"nil_reads={nil_reads!r}; valid: {', '.join(NIL_READS)}")
    m = get_model(model)
    run = _engine(engine, m)
    if nil_reads == "any":
        m.nil_read_matches_any = True
    initial = m.init(init)
    budget = Budget(None if time_limit is None else started + time_limit, int(max_memory_mb * (1 << 20)))
    screened = (
        fastkv.screen(history, m, initial, budget) if engine != "python" and fastkv.applies(m) else None
    )
    if screened is not None:
        results, n_ops, n_parts = screened
        unknown = [_json_key(k) for k, status, _ in results if status == BUDGET]
        limits = {limit for _, status, limit in results if status == BUDGET}
        illegal = [k for k, status, _ in results if status == ILLEGAL]
        failed = None
        if illegal:  # explain it (and confirm it) with the ordinary pipeline, on those parts only
            parts = m.partition(history.pairs())
            prepared = [(k, drop_unobserved(prepare_part(m, parts[k]), m.read_fs)) for k in illegal]
            failed, more, more_limits = _decide(m, prepared, initial, run, budget)
            unknown += more
            limits |= more_limits
        dropped = None
    else:
        parts = m.partition(history.pairs())
        prepared = [(k, prepare_part(m, v)) for k, v in parts.items()]
        n_ops = sum(len(ops) for _, ops in prepared)
        if m.register_like:
            prepared = [(k, drop_unobserved(ops, m.read_fs)) for k, ops in prepared]
        n_parts = len(prepared)
        dropped = n_ops - sum(len(ops) for _, ops in prepared)
        failed, unknown, limits = _decide(m, prepared, initial, run, budget)
    elapsed = round(time.monotonic() - started, 6)
    details = LinearizableDetails(m.name, n_parts, n_ops, dropped, failed, unknown, elapsed)
    if failed is not None:
        where = "" if failed.key is None else f" for key {failed.key!r}"
        if failed.reason is not None:
            summary = (
                f"Not linearizable{where}: operation {failed.reason_op} {failed.reason} "
                f"(ops {failed.ops} cannot be ordered consistently with model {m.name})."
            )
        else:
            longest = max((len(x) for x in failed.longest), default=0)
            summary = (
                f"Not linearizable{where}: of its {len(failed.ops)} operations at most {longest} can be "
                f"ordered consistently with model {m.name}; "
                f"the next could be none of {failed.stuck_ops[:8]}."
            )
        return Result(NAME, False, summary, details)
    if unknown:
        details = replace(details, limits=sorted(limits))
        summary = (
            f"Undecided: {len(unknown)} of {n_parts} parts were not decided: "
            + "; ".join(
                _LIMIT_TEXT[x].format(time_limit=time_limit, max_memory_mb=max_memory_mb)
                for x in sorted(limits)
            )
            + "."
        )
        return Result(NAME, UNKNOWN, summary, details)
    summary = f"Linearizable: {n_ops} operations in {n_parts} parts fit model {m.name}."
    return Result(NAME, True, summary, details)


def _decide(
    m: Model, prepared: list[tuple[Hashable, list[PartOp]]], initial: Hashable, run: SearchFn, budget: Budget
) -> tuple[FailedPart | None, list[Any], set[str]]:
    """(the failed part's explanation or None, undecided part keys, limits hit): pre-checks, then the search
    part by part, smallest first."""
    prepared = sorted(prepared, key=lambda kv: len(kv[1]))
    unknown: list[Any] = []
    limits: set[str] = set()
    failed = _precheck(m, prepared, initial, run, budget) if m.register_like else None
    for n, (key, ops) in enumerate(prepared):
        if failed is not None:
            break
        searched = run(ops, m.step, initial, budget)
        if searched.status == BUDGET:
            limits.add(searched.limit)
            if searched.limit == "time":
                unknown += [_json_key(k) for k, _ in prepared[n:]]  # the time is spent: the rest is undecided
                break
            # Only this part's memo outgrew its memory: a later part may still prove the history illegal,
            # and false beats unknown, so go on.
            unknown.append(_json_key(key))
            continue
        if searched.status == ILLEGAL:
            failed = _explain(m, key, ops, searched.longest, initial)
    return failed, unknown, limits


_LIMIT_TEXT = {
    "time": (
        "the time limit ({time_limit} s for the whole check) ran out; raise it with the checker's "
        "`budget:` (seconds) in the experiment, or `chaos check --time-limit S`"
    ),
    "memory": (
        "the memory limit ({max_memory_mb} MB for one part's search) ran out; raise it with "
        "`max_memory_mb:` in the experiment's checker options, or `chaos check --max-memory MB`"
    ),
}


def _precheck(
    m: Model, prepared: list[tuple[Hashable, list[PartOp]]], initial: Hashable, run: SearchFn, budget: Budget
) -> FailedPart | None:
    """A definite violation ``prune.find_witness`` finds in a part, confirmed by searching its witness."""
    for key, ops in prepared:
        found = find_witness(ops, initial, m.read_fs)
        if found is None:
            continue
        reason, observer, picked = found
        sub = [ops[i] for i in picked]
        searched = run(sub, m.step, initial, budget)
        if searched.status == ILLEGAL:  # always, by the rule's proof; the search double-checks it
            failed = _explain(m, key, sub, searched.longest, initial)
            return replace(failed, reason=reason, reason_op=ops[observer].index)
    return None


def _explain(
    m: Model, key: Hashable, ops: list[PartOp], longest: list[list[int]], initial: Hashable
) -> FailedPart:
    """The counterexample of an illegal part: its ops, longest partial linearizations, and the stuck ops."""
    best = longest[0] if longest else []
    final = replay(ops, best, m.step, initial)
    stuck = frontier(ops, set(best))
    return FailedPart(
        key=_json_key(key),
        ops=[op.index for op in ops],
        longest=[[ops[i].index for i in seq] for seq in longest],
        stuck_ops=[ops[i].index for i in stuck],
        final_state=m.describe_state(final),
        describe={str(ops[i].index): m.describe_call(ops[i].call) for i in sorted(set(best) | set(stuck))},
    )


# --- what this checker declares about itself (harness.checkers.contract) ---------------------------------
def explain(valid: Validity, d: LinearizableDetails) -> str | None:
    """The verdict in plain words; for an undecided one, which keys the budget left open."""
    if valid is True:
        parts, ops = ("?" if n is None else n for n in (d.parts, d.ops))
        return (
            f"Every operation of the {d.model or 'kv'} model, split into {parts} independent key(s) "
            f"({ops} operations), can be put in one order that respects real time and behaves like a single "
            "copy of the data: the system looked linearizable."
        )
    if valid is False:
        fp = d.failed_part or FailedPart(None, [], [], [])
        longest = fp.longest or [[]]
        return (
            f"Key {show(fp.key)}: no order of its {len(fp.ops)} operations both respects real time and "
            "behaves like a single copy of the data. The longest consistent prefix found orders "
            f"{len(longest[0]) if longest else 0} of them (ending in state "
            f"{show(fp.final_state, 80)}); "
            f"after it, none of operation(s) {', '.join('#' + str(i) for i in fp.stuck_ops[:8]) or '(none)'} "
            "could go next - "
            "the value observed there cannot be explained by any write that could have happened before it. "
            "The drawing below shows these operations."
        )
    if d.unknown_parts:
        return (
            f"The search ran out of its budget on key(s) {show(list(d.unknown_parts), 200)}: no "
            "violation was found there, but none was ruled out either."
        )
    return None


def named_ops(d: LinearizableDetails) -> set[int]:
    """The failed key's stuck ops, the end of its longest prefix, and all its ops when they are few."""
    fp = d.failed_part
    if fp is None:
        return set()
    found = set(fp.stuck_ops)
    for lin in fp.longest[:1]:
        found.update(lin[-50:])
    if len(fp.ops) <= 200:
        found.update(fp.ops)
    return found


CHECKER = Checker(
    name=NAME, check=check, details=LinearizableDetails, required=("model", "failed_part"),
    explain=explain, named_ops=named_ops, view="harness.report.lin_view:view",
)
