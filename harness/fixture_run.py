"""What the pytest fixtures (``harness.pytest_plugin``) add around the run interpreter, so that a test written
in Python is held to what ``chaos run`` holds an experiment file to.

- ``cluster_settings``: the target resolved as the loader resolves it (registered, on the declaration search
  path, or a ``target.yaml`` path) and its mode, flags, options and node count checked by the loader's own
  checks (``harness.loader.target_flags`` / ``target_topology``): a misspelled mode is refused with the valid
  ones listed.
- ``checker_specs`` / ``judge``: the checkers named as in an experiment's ``checkers:`` block (validated by
  name, each within its ``budget``), their verdict weighed by the evidence (``harness.evidence``) and decided
  against ``expect`` by ``harness.outcome.decide``, as the runner decides.
- ``write_bundle``: the test's run as a bundle (``run.json``, history, ``results.json``, ``report.html``) so
  its report can be opened, attached to the pytest output and indexed by ``chaos summary``.

Clients and workloads are made by the interpreter (``harness.runtime.interpreter``), as for ``chaos run``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness import evidence as ev
from harness import outcome as oc
from harness.bundle import Bundle
from harness.checkers.base import Composite, Validity
from harness.declare.search import resolve_target
from harness.errors import BadInput
from harness.experiment import CheckerSpec
from harness.faults.base import ParamError
from harness.history import History, write_jsonl
from harness.loader import check_step, target_flags, target_topology
from harness.provenance import code_version, harness_version, sut_version
from harness.record import RunRecord
from harness.registry import Registries
from harness.schema import field_name
from harness.target import target_traits

DEFAULT_NODES = 3


@dataclass(frozen=True)
class ClusterSettings:
    """A target and the settings a fixture-made cluster runs with, checked as an experiment's would be."""

    target: Any
    nodes: int
    flags: frozenset[str]
    options: Mapping[str, Any]


def _bad(who: str, e: ParamError) -> BadInput:
    return BadInput(f"{who}: {field_name(e.field)}: {e.message}" if e.field else f"{who}: {e.message}")


def cluster_settings(
    target: Any,
    nodes: int | None,
    mode: str,
    flags: Iterable[str],
    options: Mapping[str, Any] | None,
    registries: Registries | None = None,
) -> ClusterSettings:
    """Resolve ``target`` (a name, a ``target.yaml`` path or a target object) and check its settings."""
    reg = registries or Registries()
    if isinstance(target, (str, Path)):
        text = str(target)
        is_file = text.endswith((".yaml", ".yml")) or "/" in text
        obj = resolve_target(reg, None if is_file else text, text if is_file else None)
    else:
        obj = target
    name = str(getattr(obj, "name", "target"))
    count = nodes if nodes is not None else int(target_traits(obj).default_nodes or DEFAULT_NODES)
    try:
        switched = target_flags(obj, name, mode, tuple(flags))
        target_topology(obj, count, options or {})
    except ParamError as e:
        raise _bad("chaos_cluster", e) from None
    return ClusterSettings(obj, count, switched, MappingProxyType(dict(options or {})))


def check_schedule(
    schedule: Any, cluster: Any, duration: float, registries: Registries | None = None
) -> None:
    """Every step of a ``Schedule`` checked as an experiment file's ``faults.steps`` are (kind registered,
    params valid on this cluster, ending within the workload); a ``FaultLoop`` picks its faults as it runs."""
    from harness.runtime.nemesis import default_context
    from harness.schedule import Schedule

    if not isinstance(schedule, Schedule):
        return
    reg = registries or Registries()
    ctx = default_context(cluster)
    for i, event in enumerate(schedule.events):
        if event.kind not in reg.faults:
            raise BadInput(
                f"chaos_play: faults[{i}].kind: unknown fault kind {event.kind!r}; registered: "
                f"{', '.join(reg.faults.names())}"
            )
        try:
            check_step(reg, event, ctx, duration)
        except ParamError as e:
            raise BadInput(f"chaos_play: {field_name(('faults', i, *e.field))}: {e.message}") from None


def checker_specs(
    checkers: Mapping[str, Mapping[str, Any] | None], registries: Registries
) -> tuple[CheckerSpec, ...]:
    """An experiment's ``checkers:`` block as specs: each name registered, ``budget`` taken out."""
    out = []
    for name, given in checkers.items():
        if name not in registries.checkers:
            raise BadInput(
                f"chaos_check: checkers: unknown checker {name!r}; registered: "
                f"{', '.join(registries.checkers.names())}"
            )
        opts = dict(given or {})
        budget = opts.pop("budget", None)
        out.append(CheckerSpec(name, MappingProxyType(opts), budget))
    if not out:
        raise BadInput("chaos_check: checkers: none named; name at least one, e.g. {'linearizable': {}}")
    return tuple(out)


@dataclass(frozen=True)
class Verdict:
    """A fixture-driven test's verdict: ``valid`` (the checkers' verdict weighed by the evidence), the
    outcome against ``expect`` (``harness.outcome``), and the words ``chaos run`` prints."""

    valid: Validity
    composite: Composite
    evidence: ev.Evidence
    decision: oc.Decision
    expect: str
    summary: str
    report: Path | None = None
    bundle: Path | None = None

    @property
    def passed(self) -> bool:
        """Whether the outcome matched ``expect`` (``chaos run``'s exit 0)."""
        return self.decision.outcome == oc.PASS

    def __str__(self) -> str:
        lines = [f"expected {self.expect}, got {oc.validity_word(self.valid)}: {self.summary}"]
        lines += [f"bundle: {self.bundle}"] if self.bundle else []
        lines += [f"report: {self.report}"] if self.report else []
        return "\n".join(lines)


def judge(
    history: History,
    checkers: Mapping[str, Mapping[str, Any] | None],
    *,
    expect: str = "valid",
    rules: ev.Rules | None = None,
    final_from: int | None = None,
    faults_planned: int | None = None,
    registries: Registries | None = None,
) -> Verdict:
    """Check ``history`` with ``checkers`` and weigh the verdict by its evidence, as the runner does
    (``final_from``: the index of the final phase's first op, as ``play`` reports it)."""
    from harness.run import check_with, summary_line

    if expect not in ("valid", "invalid"):
        raise BadInput(f"chaos_check: expect {expect!r}: valid: valid, invalid")
    reg = registries or Registries()
    composite = check_with(checker_specs(checkers, reg), history, reg)
    evidence = ev.gather(history, rules or ev.Rules(), final_from=final_from, faults_planned=faults_planned)
    decision = oc.decide(composite.valid, expect, evidence)
    summary = summary_line(composite, decision.verdict, evidence)
    return Verdict(ev.judge(composite.valid, evidence), composite, evidence, decision, expect, summary)


def write_bundle(
    out: Path, name: str, history: History, verdict: Verdict, about: Mapping[str, Any]
) -> Verdict:
    """Write the test's bundle under ``out/<name>/<time>/`` and render its report; the verdict with both."""
    bundle = Bundle.create(out, name)
    write_jsonl(history, bundle.history_file)
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    bundle.write_run(
        RunRecord(
            experiment=name,
            seed=about.get("seed"),
            expect=verdict.expect,
            target=about.get("target"),
            flags=tuple(sorted(about.get("flags") or ())),
            backend=about.get("backend"),
            nodes=tuple(about.get("nodes") or ()) or None,
            started=now,
            python=sys.version.split()[0],
            code_version=code_version(),
            sut_version=sut_version(),
            harness_version=harness_version(),
            status="finished",
            outcome=verdict.decision.outcome,
            verdict=verdict.decision.verdict,
            exit_code=verdict.decision.exit_code,
            ops=len(history),
            evidence=verdict.evidence,
            finished=now,
        )
    )
    bundle.write_results(
        verdict.composite,
        valid=verdict.valid,
        evidence=verdict.evidence.to_dict(),
        outcome=verdict.decision.outcome,
        verdict=verdict.decision.verdict,
        expect=verdict.expect,
        exit_code=verdict.decision.exit_code,
        seed=about.get("seed"),
    )
    from harness.run import render

    report = render(bundle, lambda line: None)
    return Verdict(**{**verdict.__dict__, "report": report, "bundle": bundle.path})
