"""Availability under faults, from the history alone: rates, latencies, recovery times, unavailability.

``analyse(history)`` derives the figures; ``check(history, **thresholds)`` is the registered checker (entry
point ``availability``). Fault windows are the history's fault ops paired by
``harness.faultop.fault_windows``, as the report pairs them (same nodes, else first in first out). Client
ops are assigned to a *segment* by their invocation time:

    outside      invoked while no fault was active (before, between and after faults)
    fault #i     invoked while fault window i was active (start <= t < end)
    after-heal   invoked after the last fault ended (a part of ``outside``)

Per segment and per ``f`` (and over all ``f`` as ``"*"``): counts by type, ``ok_rate`` = ok / completed
(``fail`` and ``info`` count against it; an op that never completed is left out), and latency p50 / p99 in
ms over the ``ok`` completions.

*Recovery* after a fault ends at time ``h``: the first ``ok`` completion at ``t >= h`` (of an op invoked at
or after ``h``) that starts a *sustained run*: every client op completed in ``[t, t + sustain_s]`` is ``ok``
and there are at least ``sustain_ops`` of them (defaults 1 s and 3). The window is cut at the next fault's
start and at the end of the history; a run must fit its ``sustain_ops`` in what is left. Recovery time is
``t - h``; ``None`` when no run starts before the next fault (or the end): "not recovered".

*Unavailability windows*: between two consecutive ``ok`` completions (and from the first invocation to the
first ``ok``, and from the last ``ok`` to the end of the history), the stretch from the first client
invocation after the earlier ``ok`` to the later one, when it lasts at least ``gap_s`` (default 1 s): clients
were asking and nothing succeeded. An idle gap (no op invoked) is not unavailability.

Option ``fs`` restricts every figure to client ops with those ``f`` (a ``cas`` that fails on a mismatch is
an answer from a healthy system, not unavailability).

Without thresholds the checker is ``valid`` (figures only). Thresholds make it a verdict; each breach names
the window that broke it: ``min_ok_rate`` and ``max_p99_ms`` on the outside segment (``outside_faults: true``,
the default) or on every segment (``false``); ``max_recovery_s`` per fault; ``max_unavailable_s`` per window.
Details are ``AvailabilityDetails``: the figures of ``analyse`` (a JSON object, stored flat as before) plus
the thresholds given and the breaches.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from harness import faultop
from harness.checkers.base import Details, Result, Validity
from harness.checkers.contract import Checker
from harness.history import History, Pair
from harness.op import NEMESIS

NAME = "availability"
NS = 1_000_000_000
VERDICT_KEYS = ("thresholds", "outside_faults", "breaches")


@dataclass(frozen=True)
class AvailabilityDetails(Details):
    """``figures``: what ``analyse`` derived (``definition``, ``t0``, ``outside``, ``after_heal``, ``faults``,
    ``unavailable``); ``thresholds`` given, whether they applied outside faults only, and each breach."""

    figures: Mapping[str, Any]
    thresholds: Mapping[str, float] = field(default_factory=dict)
    outside_faults: bool = True
    breaches: Sequence[str] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.figures,
            "thresholds": dict(self.thresholds),
            "outside_faults": self.outside_faults,
            "breaches": list(self.breaches),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AvailabilityDetails:
        th = d.get("thresholds")
        return cls(
            figures={k: v for k, v in d.items() if k not in VERDICT_KEYS},
            thresholds=dict(th) if isinstance(th, Mapping) else {},
            outside_faults=bool(d.get("outside_faults", True)),
            breaches=[str(b) for b in d.get("breaches") or []],
        )

    @property
    def has_figures(self) -> bool:
        """Whether there are figures to draw (a result stored by an older or foreign writer may lack them)."""
        return "faults" in self.figures and "outside" in self.figures


@dataclass(frozen=True)
class Window:
    """One fault window, times in ns of the history's clock (``end`` None: never ended)."""

    index: int
    kind: str
    nodes: tuple[str, ...]
    start: int
    end: int | None
    start_index: int

    def label(self, t0: int) -> str:
        who = ",".join(self.nodes) or "all"
        end = f"{(self.end - t0) / NS:.1f}s" if self.end is not None else "end"
        return f"fault #{self.index} {self.kind} {who} ({(self.start - t0) / NS:.1f}s-{end})"


def fault_windows(history: History) -> list[Window]:
    """The history's fault windows (``harness.faultop.fault_windows``), numbered in order of start."""
    found, _ = faultop.fault_windows(history)
    return [Window(i, w.kind, w.nodes, w.start, w.end, w.start_index) for i, w in enumerate(found)]


def _quantile(xs: list[int], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))] / 1e6, 3)


class Call(NamedTuple):
    """One client op reduced to what the figures need (a ``Pair`` asks more of Python on every access)."""

    invoked: int
    completed: int  # -1: never completed
    type: str  # ok / fail / info / open
    f: str


def calls(pairs: Iterable[Pair], fs: Sequence[str] | None = None) -> list[Call]:
    """Client op pairs (nemesis ops left out, only ``fs`` when given) as ``Call``s, by invocation time."""
    out = []
    for p in pairs:
        inv = p.invoke
        if inv.process == NEMESIS or (fs is not None and inv.f not in fs):
            continue
        c = p.complete
        out.append(Call(inv.time, -1, "open", inv.f) if c is None else Call(inv.time, c.time, c.type, inv.f))
    out.sort()
    return out


def stats(ops: Iterable[Call]) -> dict[str, Any]:
    """Counts by type, ok rate and ok-latency p50 / p99 (ms) of some client ops."""
    n = {"ok": 0, "fail": 0, "info": 0, "open": 0}
    lat: list[int] = []
    for c in ops:
        n[c.type] += 1
        if c.type == "ok":
            lat.append(c.completed - c.invoked)
    done = n["ok"] + n["fail"] + n["info"]
    return {
        **n,
        "ops": done,
        "ok_rate": round(n["ok"] / done, 4) if done else None,
        "p50_ms": _quantile(lat, 0.5),
        "p99_ms": _quantile(lat, 0.99),
    }


def _per_f(ops: list[Call]) -> dict[str, Any]:
    by_f: dict[str, list[Call]] = defaultdict(list)
    for c in ops:
        by_f[c.f].append(c)
    return {"*": stats(ops), **{f: stats(cs) for f, cs in sorted(by_f.items())}}


def recovery(by_invoke: list[Call], heal: int, until: int, sustain_s: float, sustain_ops: int) -> int | None:
    """ns from ``heal`` to the first sustained run of ok completions before ``until``; None: never.

    ``by_invoke``: client ops sorted by invocation time. One pass over the completions in order: for each
    ok completion ``t``, the run holds when the next non-ok completion comes after ``t + sustain_s`` and at
    least ``sustain_ops`` completions fall in ``[t, t + sustain_s]``."""
    lo = bisect_left(by_invoke, heal, key=_invoked)
    hi = bisect_left(by_invoke, until, key=_invoked)
    done = sorted((c.completed, c.type == "ok") for c in by_invoke[lo:hi] if 0 <= c.completed < until)
    times = [t for t, _ in done]
    span = int(sustain_s * NS)
    next_bad = len(done)  # index of the first non-ok completion at or after i
    firsts: list[int] = [0] * len(done)
    for i in range(len(done) - 1, -1, -1):
        if not done[i][1]:
            next_bad = i
        firsts[i] = next_bad
    for i, (t, ok) in enumerate(done):
        if not ok:
            continue
        end = bisect_right(times, t + span)
        if firsts[i] >= end and end - i >= sustain_ops:
            return t - heal
    return None


def _invoked(c: Call) -> int:
    return c.invoked


def unavailability(ops: list[Call], t_end: int, gap_s: float) -> list[tuple[int, int]]:
    """Stretches of at least ``gap_s`` from a client invocation to the next ok completion, none between."""
    if not ops:
        return []
    oks = sorted(c.completed for c in ops if c.type == "ok")
    invokes = sorted(c.invoked for c in ops)
    edges = [invokes[0], *oks, t_end]
    out: list[tuple[int, int]] = []
    gap = int(gap_s * NS)
    j = 0
    for a, b in zip(edges, edges[1:], strict=False):
        while j < len(invokes) and invokes[j] < a:
            j += 1
        if j < len(invokes) and invokes[j] < b and b - invokes[j] >= gap:
            out.append((invokes[j], b))
    return out


def analyse(
    history: History,
    *,
    sustain_s: float = 1.0,
    sustain_ops: int = 3,
    gap_s: float = 1.0,
    fs: Sequence[str] | None = None,
    pairs: Sequence[Pair] | None = None,
) -> dict[str, Any]:
    """Every figure of the module docstring, as JSON-able data (times in s since the history's first op).

    ``fs``: count only client ops with these ``f`` (e.g. leave out ``cas``, whose ``fail`` on a mismatch is
    an answer from a healthy system, not unavailability). ``pairs``: ``history.pairs()`` when the caller
    already has them (the report does)."""
    by_invoke = calls(history.pairs() if pairs is None else pairs, fs)
    times = [op.time for op in history]
    t0, t_end = (min(times), max(times)) if times else (0, 0)
    windows = fault_windows(history)

    def s(ns: int | None) -> float | None:
        return None if ns is None else round((ns - t0) / NS, 3)

    # Each window's ops are a slice of the invoke-ordered pairs; what no slice covers is outside faults.
    covered = [False] * len(by_invoke)
    slices: list[list[Call]] = []
    for w in windows:
        lo = bisect_left(by_invoke, w.start, key=_invoked)
        hi = bisect_left(by_invoke, w.end if w.end is not None else t_end + 1, key=_invoked)
        slices.append(by_invoke[lo:hi])
        covered[lo:hi] = [True] * (hi - lo)
    outside = [p for p, c in zip(by_invoke, covered, strict=True) if not c]
    last_end = max((w.end for w in windows if w.end is not None), default=None)
    faults = []
    for w, mine in zip(windows, slices, strict=True):
        nxt = next((v.start for v in windows if v.start >= (w.end or 0) and v is not w), t_end + 1)
        rec = (
            recovery(by_invoke, w.end, min(nxt, t_end + 1), sustain_s, sustain_ops)
            if w.end is not None
            else None
        )
        faults.append(
            {
                "index": w.index,
                "kind": w.kind,
                "nodes": list(w.nodes),
                "start_index": w.start_index,
                "start_s": s(w.start),
                "end_s": s(w.end),
                "label": w.label(t0),
                "recovery_s": None if rec is None else round(rec / NS, 3),
                "recovered": rec is not None,
                "stats": _per_f(mine),
            }
        )
    after = by_invoke[bisect_left(by_invoke, last_end, key=_invoked) :] if last_end is not None else []
    gaps = unavailability(by_invoke, t_end, gap_s)
    return {
        "definition": {
            "sustain_s": sustain_s,
            "sustain_ops": sustain_ops,
            "gap_s": gap_s,
            "fs": None if fs is None else list(fs),
        },
        "t0": t0,
        "outside": _per_f(outside),
        "after_heal": _per_f(after) if last_end is not None else None,
        "faults": faults,
        "unavailable": [
            {
                "start_s": s(a),
                "end_s": s(b),
                "duration_s": round((b - a) / NS, 3),
                "faults": [w.index for w in windows if w.start < b and (w.end is None or w.end > a)],
                "after_fault": max(
                    (w.index for w in windows if w.end is not None and w.end <= a), default=None
                ),
            }
            for a, b in gaps
        ],
    }


def _breaches(
    fig: Mapping[str, Any],
    min_ok_rate: float | None,
    max_p99_ms: float | None,
    max_recovery_s: float | None,
    max_unavailable_s: float | None,
    outside_faults: bool,
) -> list[str]:
    segments: list[tuple[str, Mapping[str, Any]]] = [("outside faults", fig["outside"]["*"])]
    if not outside_faults:
        segments += [(f["label"], f["stats"]["*"]) for f in fig["faults"]]
        if fig["after_heal"] is not None:
            segments.append(("after heal", fig["after_heal"]["*"]))
    out = []
    for label, st in segments:
        if min_ok_rate is not None and st["ok_rate"] is not None and st["ok_rate"] < min_ok_rate:
            out.append(
                f"{label}: ok rate {st['ok_rate']:.4g} < min_ok_rate {min_ok_rate:g} "
                f"({st['ok']} ok of {st['ops']})"
            )
        if max_p99_ms is not None and st["p99_ms"] is not None and st["p99_ms"] > max_p99_ms:
            out.append(f"{label}: p99 latency {st['p99_ms']:g} ms > max_p99_ms {max_p99_ms:g}")
    if max_recovery_s is not None:
        for f in fig["faults"]:
            if f["end_s"] is None:
                continue
            if f["recovery_s"] is None:
                out.append(f"{f['label']}: not recovered before the next fault or the end of the run")
            elif f["recovery_s"] > max_recovery_s:
                out.append(
                    f"{f['label']}: recovered {f['recovery_s']:g} s after the heal > max_recovery_s "
                    f"{max_recovery_s:g}"
                )
    if max_unavailable_s is not None:
        labels = {f["index"]: f["label"] for f in fig["faults"]}
        for u in fig["unavailable"]:
            if u["duration_s"] > max_unavailable_s:
                during = ", ".join(labels[i] for i in u["faults"] if i in labels)
                after = u.get("after_fault")
                when = (
                    f"during {during}"
                    if during
                    else f"after {labels[after]}"
                    if after in labels
                    else "outside any fault"
                )
                out.append(
                    f"unavailable {u['start_s']:g}s-{u['end_s']:g}s ({when}): {u['duration_s']:g} s "
                    f"> max_unavailable_s {max_unavailable_s:g}"
                )
    return out


def check(
    history: History,
    *,
    min_ok_rate: float | None = None,
    max_p99_ms: float | None = None,
    max_recovery_s: float | None = None,
    max_unavailable_s: float | None = None,
    outside_faults: bool = True,
    sustain_s: float = 1.0,
    sustain_ops: int = 3,
    gap_s: float = 1.0,
    fs: Sequence[str] | None = None,
) -> Result:
    """The availability figures; ``valid`` is False when a given threshold is broken (see the docstring)."""
    fig = analyse(history, sustain_s=sustain_s, sustain_ops=sustain_ops, gap_s=gap_s, fs=fs)
    thresholds = {
        k: v
        for k, v in {
            "min_ok_rate": min_ok_rate,
            "max_p99_ms": max_p99_ms,
            "max_recovery_s": max_recovery_s,
            "max_unavailable_s": max_unavailable_s,
        }.items()
        if v is not None
    }
    breaches = _breaches(fig, min_ok_rate, max_p99_ms, max_recovery_s, max_unavailable_s, outside_faults)
    out = fig["outside"]["*"]
    recs = [f["recovery_s"] for f in fig["faults"] if f["end_s"] is not None]
    rec_text = ", ".join("not recovered" if r is None else f"{r:g} s" for r in recs) if recs else "no faults"
    figures = (
        f"outside faults ok rate {out['ok_rate'] if out['ok_rate'] is not None else '-'} "
        f"(p99 {out['p99_ms'] if out['p99_ms'] is not None else '-'} ms); recovery: {rec_text}; "
        f"{len(fig['unavailable'])} unavailability window(s)"
    )
    details = AvailabilityDetails(fig, thresholds, outside_faults, breaches)
    if breaches:
        return Result(NAME, False, f"{len(breaches)} threshold(s) broken: {'; '.join(breaches)}", details)
    if thresholds:
        return Result(NAME, True, f"every threshold held: {figures}", details)
    return Result(NAME, True, f"figures only (no thresholds given): {figures}", details)


# --- what this checker declares about itself (harness.checkers.contract) ---------------------------------
def explain(valid: Validity, details: AvailabilityDetails) -> str | None:
    """The verdict in plain words, with the thresholds and the first breaches. Its figures are drawn by the
    report's availability section (every report has one), so it declares no counterexample view."""
    limits = ", ".join(f"{k} {v}" for k, v in details.thresholds.items()) or "none"
    if valid is True:
        return (
            f"The system stayed available within the experiment's thresholds ({limits}): the rates, "
            "latencies and recovery times below are inside them."
        )
    if valid is False:
        broken = details.breaches
        return (
            f"Availability fell outside the experiment's thresholds ({limits}) in {len(broken)} window(s): "
            + "; ".join(str(b) for b in broken[:6])
            + ("; ..." if len(broken) > 6 else "")
        )
    return None


CHECKER = Checker(
    name=NAME, check=check, details=AvailabilityDetails, required=("thresholds", "breaches"),
    explain=explain,
)
