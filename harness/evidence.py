"""Evidence before a verdict: does a history hold enough successful operations to prove anything?

A checker that finds no violation in a history where nothing succeeded says nothing about the system: a
cluster that answered no request is trivially linearizable. Jepsen guards this with its stats checker; here
``gather`` computes, as a pure function of the history, per kind of operation (``f``) how many client ops
completed ``ok`` / ``fail`` / ``info`` (an op never completed counts as ``info``), whether the final
phase's ops succeeded, and how many faults were actually injected. ``Rules`` (an experiment's ``evidence:``
block) say what is enough; ``Evidence.lacking`` lists, in words, every rule the history breaks:

- a kind of operation the workload issued never completed ``ok`` (unless the rules call it ``optional``);
- an op of the final phase never succeeded (each final op is retried; one ``ok`` attempt suffices);
- fewer ops completed ``ok`` during the workload than ``min_ok``.

``judge`` combines a checker verdict with the evidence: a violation found stands (a proven violation needs no
more evidence), anything else on a history that lacks evidence is ``unknown``. The runner, ``chaos check`` and
the report all use this module; it imports nothing but the history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.base import UNKNOWN, Validity
from harness.faultop import START, fault_ops
from harness.history import History

DEFAULT_MIN_OK = 10
"""Ops that must complete ``ok`` during an experiment's workload unless its ``evidence.min_ok`` says so."""

TESTED_WHAT = "this run tested the system, not its fault tolerance"


@dataclass(frozen=True)
class Counts:
    """Completions of one kind of op: ``info`` includes ops still open when the history ended."""

    ok: int = 0
    fail: int = 0
    info: int = 0

    @property
    def total(self) -> int:
        return self.ok + self.fail + self.info

    def add(self, kind: str) -> Counts:
        return Counts(
            self.ok + (kind == "ok"), self.fail + (kind == "fail"), self.info + (kind not in ("ok", "fail"))
        )

    def words(self) -> str:
        return f"{self.ok} ok, {self.fail} failed, {self.info} unknown"

    def to_dict(self) -> dict[str, int]:
        return {"ok": self.ok, "fail": self.fail, "info": self.info}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Counts:
        return cls(int(d.get("ok", 0)), int(d.get("fail", 0)), int(d.get("info", 0)))


@dataclass(frozen=True)
class Rules:
    """What a history must hold before a verdict may stand (an experiment's ``evidence:`` block).

    ``min_ok``: ops that must complete ok during the workload (0: no floor). ``optional``: kinds of op allowed
    never to succeed. ``final``: every final-phase op must succeed at least once.
    """

    min_ok: int = DEFAULT_MIN_OK
    optional: frozenset[str] = frozenset()
    final: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"min_ok": self.min_ok, "optional": sorted(self.optional), "final": self.final}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rules:
        return cls(
            int(d.get("min_ok", DEFAULT_MIN_OK)),
            frozenset(d.get("optional") or ()),
            bool(d.get("final", True)),
        )


@dataclass(frozen=True)
class Evidence:
    """Per-``f`` counts of the workload and of the final phase, faults injected, and what is lacking."""

    counts: Mapping[str, Counts]
    final: Mapping[str, Counts] = field(default_factory=dict)
    final_failed: tuple[str, ...] = ()
    faults_injected: int = 0
    faults_planned: int | None = None
    lacking: tuple[str, ...] = ()
    rules: Rules = Rules()
    final_from: int | None = None

    @property
    def enough(self) -> bool:
        return not self.lacking

    @property
    def ok(self) -> int:
        return sum(c.ok for c in self.counts.values())

    @property
    def final_ok(self) -> bool | None:
        """Whether every final op succeeded; ``None`` when the history has no final phase."""
        return None if not self.final else not self.final_failed

    @property
    def no_fault(self) -> bool:
        return self.faults_injected == 0

    def notes(self) -> list[str]:
        """Plain-words remarks that do not change the verdict (no fault injected)."""
        if not self.no_fault:
            return []
        if self.faults_planned is None:
            why = ""
        elif self.faults_planned == 0:
            why = " (the fault schedule was empty)"
        else:
            why = f" ({self.faults_planned} planned, none applied)"
        return [f"no fault was injected{why}: {TESTED_WHAT}"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "enough": self.enough,
            "lacking": list(self.lacking),
            "counts": {f: c.to_dict() for f, c in self.counts.items()},
            "final": {f: c.to_dict() for f, c in self.final.items()},
            "final_ok": self.final_ok,
            "final_failed": list(self.final_failed),
            "final_from": self.final_from,
            "faults_injected": self.faults_injected,
            "faults_planned": self.faults_planned,
            "notes": self.notes(),
            "rules": self.rules.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Evidence:
        def counts(key: str) -> dict[str, Counts]:
            raw = d.get(key) or {}
            return {str(f): Counts.from_dict(c) for f, c in raw.items() if isinstance(c, Mapping)}

        planned = d.get("faults_planned")
        final_from = d.get("final_from")
        return cls(
            counts=counts("counts"),
            final=counts("final"),
            final_failed=tuple(str(x) for x in d.get("final_failed") or ()),
            faults_injected=int(d.get("faults_injected") or 0),
            faults_planned=int(planned) if isinstance(planned, int) else None,
            lacking=tuple(str(x) for x in d.get("lacking") or ()),
            rules=Rules.from_dict(d.get("rules") or {}),
            final_from=int(final_from) if isinstance(final_from, int) else None,
        )


def _describe(f: str, value: Any) -> str:
    if value is None:
        return f
    text = json.dumps(value, sort_keys=True, default=str)
    return f"{f} {text if len(text) <= 60 else text[:57] + '...'}"


def gather(
    history: History,
    rules: Rules = Rules(),
    *,
    final_from: int | None = None,
    faults_planned: int | None = None,
) -> Evidence:
    """The evidence ``history`` holds under ``rules``; ops from index ``final_from`` on are the final ops."""
    counts: dict[str, Counts] = {}
    final: dict[str, Counts] = {}
    attempts: dict[tuple[str, str], list[str]] = {}  # final op (f, value) -> completion types, in order
    for p in history.pairs():
        op = p.invoke
        if final_from is not None and op.index >= final_from:
            final[op.f] = final.get(op.f, Counts()).add(p.type)
            key = (op.f, json.dumps(op.value, sort_keys=True, default=str))
            attempts.setdefault(key, []).append(p.type)
        else:
            counts[op.f] = counts.get(op.f, Counts()).add(p.type)
    injected = sum(1 for fop in fault_ops(history) if fop.phase == START and fop.error is None)
    final_failed = tuple(
        f"{_describe(f, json.loads(v))} ({len(types)} attempt{'s' * (len(types) != 1)}: "
        f"{Counts(0, types.count('fail'), len(types) - types.count('fail')).words()})"
        for (f, v), types in attempts.items()
        if "ok" not in types
    )
    lacking: list[str] = []
    if not counts:
        lacking.append("no client operation was recorded: the history proves nothing")
    for f, c in sorted(counts.items()):
        if c.ok == 0 and f not in rules.optional:
            lacking.append(
                f"no {f} completed ok ({c.total} issued: {c.fail} failed, {c.info} unknown): "
                f"the history proves nothing about {f}"
            )
    ok = sum(c.ok for c in counts.values())
    if counts and ok < rules.min_ok:
        lacking.append(
            f"only {ok} operation(s) completed ok, fewer than the {rules.min_ok} required (min_ok)"
        )
    if rules.final and final_failed:
        lacking.append(
            "the final phase did not succeed, so the state after the faults was never observed: "
            + "; ".join(final_failed[:5])
            + (f"; and {len(final_failed) - 5} more" if len(final_failed) > 5 else "")
        )
    return Evidence(
        counts=counts,
        final=final,
        final_failed=final_failed,
        faults_injected=injected,
        faults_planned=faults_planned,
        lacking=tuple(lacking),
        rules=rules,
        final_from=final_from,
    )


def judge(valid: Validity, evidence: Evidence) -> Validity:
    """A checker verdict weighed by the evidence: ``False`` stands; without evidence the rest is unknown."""
    if valid is False or evidence.enough:
        return valid
    return UNKNOWN


def counts_line(evidence: Evidence) -> str:
    """``read 12 ok, 3 failed, 1 unknown; write ...`` for plain-text output."""
    parts = [f"{f} {c.words()}" for f, c in sorted(evidence.counts.items())]
    parts += [f"final {f} {c.words()}" for f, c in sorted(evidence.final.items())]
    return "; ".join(parts) or "no client operations"
