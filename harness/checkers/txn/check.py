"""The ``list-append`` and ``rw-register`` checkers: ``check(history, **options) -> Result``.

Options:

    consistency_model   read-uncommitted | read-committed | snapshot-isolation | repeatable-read |
                        serializable | strict-serializable (default)
    cycle_budget        search steps for the cycle search (default 20,000,000); spent -> unknown
    time_limit          seconds for the cycle search (default none); spent -> unknown
    wfr_keys            rw-register only: assume a transaction's write of a key follows its own read of it
                        (default false), which orders versions and so yields ww and more rw edges

The verdict is false when the history shows an anomaly the model forbids, unknown when none was found but
the cycle search ran out of budget, true otherwise. In each strongly connected component of the dependency
graph the first class found of G0, G1c and the first of G-single, G2-item (data edges only) are reported,
as Elle and adya do; under strict-serializable, a component with neither is searched again allowing order
edges, and a cycle found there is ``-process`` when its order edges are all process order, else
``-realtime``. Every model forbids an upward-closed part of each group, so stopping early hides nothing.
``details`` (``TxnDetails``) holds the anomalies (each with its witness and the models it rules out, as JSON
objects: ``harness.checkers.txn.anomaly``), the models the history rules out, and counts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.checkers.base import UNKNOWN, Details, Result, Validity
from harness.checkers.contract import Checker
from harness.checkers.txn.anomaly import Anomaly, Step
from harness.checkers.txn.cycles import Budget, BudgetExhausted, find_cycle
from harness.checkers.txn.graph import ALL, KIND_NAMES, PROCESS, REALTIME, Graph, components
from harness.checkers.txn.list_append import ListAppend
from harness.checkers.txn.models import DEFAULT_MODEL, FORBIDS, MODELS, check_model, ruled_out
from harness.checkers.txn.orders import add_process_edges, add_realtime_edges, explain_order
from harness.checkers.txn.rw_register import RwRegister
from harness.checkers.txn.txns import LIST_APPEND_FS, RW_REGISTER_FS, index_txns, no_gc
from harness.errors import BadInput
from harness.history import History

DEFAULT_BUDGET = 20_000_000


@dataclass(frozen=True)
class TxnDetails(Details):
    """What the list-append / rw-register checker found, checked as ``consistency_model``."""

    consistency_model: str
    anomaly_types: Sequence[str] = ()
    anomalies: Sequence[Mapping[str, Any]] = ()  # each: type, description, ruled_out, text, txns, [cycle]
    anomaly_counts: Mapping[str, int] = field(default_factory=dict)
    ruled_out_models: Sequence[str] = ()
    not_ruled_out: Sequence[str] = ()
    budget_exhausted: Sequence[str] = ()
    txns: int | None = None
    committed: int | None = None
    edges: int | None = None
    components: int | None = None
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "consistency_model": self.consistency_model,
            "anomaly_types": list(self.anomaly_types),
            "anomalies": list(self.anomalies),
            "anomaly_counts": dict(self.anomaly_counts),
            "ruled_out_models": list(self.ruled_out_models),
            "not_ruled_out": list(self.not_ruled_out),
            "budget_exhausted": list(self.budget_exhausted),
            "txns": self.txns,
            "committed": self.committed,
            "edges": self.edges,
            "components": self.components,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TxnDetails:
        counts = d.get("anomaly_counts")
        return cls(
            consistency_model=str(d.get("consistency_model", "?")),
            anomaly_types=[str(x) for x in d.get("anomaly_types") or []],
            anomalies=[a for a in d.get("anomalies") or [] if isinstance(a, Mapping)],
            anomaly_counts=dict(counts) if isinstance(counts, Mapping) else {},
            ruled_out_models=[str(x) for x in d.get("ruled_out_models") or []],
            not_ruled_out=[str(x) for x in d.get("not_ruled_out") or []],
            budget_exhausted=[str(x) for x in d.get("budget_exhausted") or []],
            txns=d.get("txns"),
            committed=d.get("committed"),
            edges=d.get("edges"),
            components=d.get("components"),
            seconds=d.get("seconds"),
        )


def list_append(
    history: History,
    consistency_model: str | None = None,
    cycle_budget: int | None = None,
    time_limit: float | None = None,
    **options: Any,
) -> Result:
    """The ``list-append`` checker; ``time_limit`` is named so the runner passes a checker budget to it."""
    opts = {"consistency_model": consistency_model, "cycle_budget": cycle_budget, "time_limit": time_limit}
    return _check("list-append", history, {**options, **opts})


def rw_register(
    history: History,
    consistency_model: str | None = None,
    cycle_budget: int | None = None,
    time_limit: float | None = None,
    wfr_keys: bool = False,
    **options: Any,
) -> Result:
    """The ``rw-register`` checker (see the module docstring for the options)."""
    opts = {"consistency_model": consistency_model, "cycle_budget": cycle_budget, "time_limit": time_limit}
    return _check("rw-register", history, {**options, **opts, "wfr_keys": wfr_keys})


_VALID_OPTIONS = ("consistency_model", "cycle_budget", "time_limit", "wfr_keys")


def _options(name: str, options: dict[str, Any]) -> tuple[str, int, float | None]:
    unknown = sorted(set(options) - set(_VALID_OPTIONS))
    if unknown or (name == "list-append" and options.get("wfr_keys")):
        bad = unknown[0] if unknown else "wfr_keys"
        raise BadInput(
            f"{name}: unknown option {bad!r}; valid: {', '.join(_VALID_OPTIONS[:3])}"
            f"{', wfr_keys' if name == 'rw-register' else ''}"
        )
    model = options.get("consistency_model") or DEFAULT_MODEL
    try:
        check_model(str(model).replace("_", "-"))
    except ValueError as e:
        raise BadInput(f"{name}: {e}") from None
    budget = options.get("cycle_budget") or DEFAULT_BUDGET
    limit = options.get("time_limit")
    if not isinstance(budget, int) or budget <= 0:
        raise BadInput(f"{name}: cycle_budget must be a positive integer, got {budget!r}")
    if limit is not None and (not isinstance(limit, (int, float)) or limit <= 0):
        raise BadInput(f"{name}: time_limit must be a positive number of seconds, got {limit!r}")
    return str(model).replace("_", "-"), budget, limit


def _check(name: str, history: History, options: dict[str, Any]) -> Result:
    with no_gc(len(history)):
        return _check_all(name, history, options)


def _check_all(name: str, history: History, options: dict[str, Any]) -> Result:
    model, steps, limit = _options(name, options)
    started = time.monotonic()
    txns = index_txns(history, LIST_APPEND_FS if name == "list-append" else RW_REGISTER_FS)
    g = Graph(len(txns))
    analysis: ListAppend | RwRegister = (
        ListAppend(txns, g) if name == "list-append" else RwRegister(txns, g, bool(options.get("wfr_keys")))
    )
    add_process_edges(txns, g)
    add_realtime_edges(txns, g)
    found: dict[str, Anomaly] = {}
    for a in analysis.anomalies:
        found.setdefault(a.name, a)
    counts: dict[str, int] = {}
    for a in analysis.anomalies:
        counts[a.name] = counts.get(a.name, 0) + 1

    forbidden = FORBIDS[model]
    budget = Budget(steps, limit)
    exhausted: list[str] = []
    sccs = components(g, ALL)
    strict = "G0-realtime" in forbidden
    for scc in sccs:
        try:
            hits = [_first(g, group, scc, budget) for group in GROUPS]
            if strict and not any(hits):
                hits = [_first(g, [c + "-realtime" for c in group], scc, budget) for group in GROUPS]
        except BudgetExhausted as e:
            exhausted.append(f"cycle search in a component of {len(scc)} transactions ({e})")
            continue
        for hit in hits:
            if hit is None:
                continue
            cls, cycle = hit
            if cls.endswith("-realtime") and not any(k == REALTIME for _, _, k in cycle):
                cls = cls.replace("-realtime", "-process")
            counts[cls] = counts.get(cls, 0) + 1
            if cls not in found or len(cycle) < len(found[cls].steps):
                found[cls] = _cycle_anomaly(cls, cycle, analysis, txns)
    anomalies = [found[k] for k in sorted(found, key=_order)]
    bad = [a.name for a in anomalies if a.name in forbidden]
    undecided = exhausted
    valid: Validity = False if bad else (UNKNOWN if undecided else True)
    out_models = sorted({m for a in anomalies for m in ruled_out(a.name)}, key=MODELS.index)
    details = TxnDetails(
        consistency_model=model,
        anomaly_types=[a.name for a in anomalies],
        anomalies=[a.to_dict(txns) for a in anomalies],
        anomaly_counts=counts,
        ruled_out_models=out_models,
        not_ruled_out=[m for m in MODELS if m not in out_models],
        budget_exhausted=exhausted,
        txns=len(txns),
        committed=sum(1 for t in txns if t.type == "ok"),
        edges=g.edge_count(),
        components=len(sccs),
        seconds=round(time.monotonic() - started, 3),
    )
    return Result(name, valid, _summary(name, model, valid, anomalies, bad, undecided, len(txns)), details)


# Per component, the first class found in each group is reported (as Elle and adya do): G0 before G1c,
# G-single before G2-item. Each model forbids an upward-closed part of each group: stopping early hides
# nothing.
GROUPS = (("G0", "G1c"), ("G-single", "G2-item"))


def _first(
    g: Graph, group: Any, scc: list[int], budget: Budget
) -> tuple[str, list[tuple[int, int, int]]] | None:
    for cls in group:
        cycle = find_cycle(g, cls, scc, budget)
        if cycle is not None:
            return cls, cycle
    return None


def _order(name: str) -> int:
    from harness.checkers.txn.models import ANOMALIES

    return ANOMALIES.index(name) if name in ANOMALIES else len(ANOMALIES)


def _cycle_anomaly(cls: str, cycle: list[tuple[int, int, int]], analysis: Any, txns: Any) -> Anomaly:
    steps = []
    for a, b, kind in cycle:
        why = explain_order(txns, a, b, kind) if kind in (PROCESS, REALTIME) else analysis.explain(a, b, kind)
        steps.append(Step(a, b, KIND_NAMES[kind], why))
    names = " -> ".join(txns[a].name for a, _, _ in cycle) + f" -> {txns[cycle[0][0]].name}"
    return Anomaly(cls, tuple(a for a, _, _ in cycle), f"cycle {names}", tuple(steps))


def _summary(
    name: str, model: str, valid: Any, anomalies: list[Anomaly], bad: list[str], undecided: list[str], n: int
) -> str:
    kinds = ", ".join(a.name for a in anomalies) or "none"
    if valid is False:
        return (
            f"{n} transactions: anomalies {kinds}; {', '.join(bad)} "
            f"{'is' if len(bad) == 1 else 'are'} forbidden by {model}, so the history is not {model}."
        )
    if valid == UNKNOWN:
        return (
            f"{n} transactions: no anomaly forbidden by {model} found, but the cycle search ran out of "
            f"budget for {', '.join(undecided)}; verdict unknown."
        )
    return f"{n} transactions: consistent with {model} (anomalies found: {kinds})."


# --- what these checkers declare about themselves (harness.checkers.contract) ----------------------------
def named_ops(d: TxnDetails) -> set[int]:
    """Invocation indices of the transactions the anomalies name."""
    out: set[int] = set()
    for a in d.anomalies:
        for t in a.get("txns") or []:
            if isinstance(t, Mapping) and isinstance(t.get("index"), int):
                out.add(t["index"])
    return out


LIST_APPEND = Checker(
    name="list-append", check=list_append, details=TxnDetails, required=("consistency_model", "anomalies"),
    named_ops=named_ops, view="harness.report.txn_view:view",
)
RW_REGISTER = replace(LIST_APPEND, name="rw-register", check=rw_register)
