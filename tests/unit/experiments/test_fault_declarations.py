"""Fault kinds declare their parameters, and the schema follows: the published file is generated from the
bundled kinds, a newly registered kind's step and ``random:`` keys are validated (file:line) and drawn, and a
kind of the older protocol (no declarations) keeps working."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from experiment_fakes import BASE, FakeCluster, FakeTarget, Harness, Store

from harness.errors import BadInput
from harness.faultop import DOWN, PAUSED
from harness.faults.base import AMONG, FaultContext, Kind, Param, ParamError, effect_of, random_spec
from harness.faults.params import check_params
from harness.history import HistoryWriter
from harness.loader import loads
from harness.registry import Registry
from harness.runtime.nemesis import Nemesis
from harness.schedule import generate
from harness.schema import SCHEMA_FILE
from harness.schema.faults import bundled_kinds, experiment_schema, render

ROOT = Path(__file__).resolve().parents[3]
LONG = BASE.replace("duration: 1,", "duration: 10,")


class Wobble(Kind):
    """``kind: wobble``: a test kind declaring every sort of field."""

    name = capability = "wobble"
    description = "a test kind"
    effect = PAUSED
    parameters = (
        Param("nodes", "nodes", "Which nodes."),
        Param("depth", "integer", "How deep.", required=True, minimum=1, maximum=9),
        Param("ratio", "number", "How much.", default=0.5, minimum=0, maximum=1, exclusive_minimum=True),
        Param("style", "choice", "Which style.", default="soft", choices=("soft", "hard")),
    )
    random_parameters = (AMONG, Param("styles", "choices", "Styles drawn from.", choices=("soft", "hard")))

    def random_params(self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
        styles = spec.get("styles")
        out = super().random_params(rng, ctx, {**spec, "depth": spec.get("depth", 3)})
        if styles:
            out["style"] = rng.choice(list(styles))
        return out

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        for n in params["nodes"]:
            cluster.pause(n)
        return {"depth": params["depth"]}

    def stop(self, cluster: Any, params: Mapping[str, Any]) -> None:
        for n in params["nodes"]:
            cluster.resume(n)


class OldStyle:
    """A kind written against the protocol before declarations: no parameters, random_keys only."""

    name = capability = "old-style"
    network = False
    random_keys = ("flavour",)

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None:
        if params.get("strength", 1) > 5:
            raise ParamError(("strength",), "at most 5")

    def random_params(self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"nodes": [rng.choice(ctx.nodes)], **spec}

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        return frozenset(params.get("nodes") or [])

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def stop(self, cluster: Any, params: Mapping[str, Any]) -> None:
        pass

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Any:
        return iter(())


def harness_with(**kinds: Any) -> Harness:
    """The fake harness, its fault registry the bundled kinds plus ``kinds``."""
    h = Harness()
    h.registries.faults = Registry("faults", {**{k: type(v) for k, v in bundled_kinds().items()}, **kinds})
    return h


def test_the_published_schema_is_generated_from_the_bundled_kinds() -> None:
    assert render(experiment_schema(bundled_kinds())) == SCHEMA_FILE.read_text(encoding="utf-8"), (
        "harness/schema/experiment.schema.json is out of date: run scripts/schema"
    )


def test_every_bundled_kind_has_a_step_rule_and_is_named_in_the_description_and_the_docs() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    described = schema["$defs"]["step"]["properties"]["kind"]["description"]
    docs = (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")
    table = docs[docs.index("## Fault kinds") :]
    for name in bundled_kinds():
        assert f"fault-{name}" in schema["$defs"], name
        assert re.search(rf"\b{re.escape(name)}\b", described), name
        assert f"| `{name}` |" in table, f"docs/experiments.md's fault table lacks {name}"
    assert {"packet-loss", "netem"} <= set(bundled_kinds())


def test_a_declared_kind_is_in_the_live_schema_and_its_fields_are_checked_with_file_and_line() -> None:
    h = harness_with(wobble=Wobble)
    steps = "faults:\n  steps:\n    - {kind: wobble, nodes: [n2], depth: 4, at: 1, duration: 2}\n"
    exp = loads(LONG + steps, "x.yaml", h.registries)
    assert exp.steps[0].params == {"nodes": ["n2"], "depth": 4}
    for bad, message in [
        ("depth: 40", r"x\.yaml:9: faults\.steps\[0\]\.depth: .*40"),
        ("depth: 4, ratio: 0", r"x\.yaml:9: faults\.steps\[0\]\.ratio"),
        ("depth: 4, style: wild", r"x\.yaml:9: faults\.steps\[0\]\.style: .*soft"),
        ("depth: 4, dpeth: 4", r"x\.yaml:9: faults\.steps\[0\]\.dpeth"),
        ("ratio: 0.2", r"x\.yaml:9: faults\.steps\[0\].*depth"),
    ]:
        with pytest.raises(BadInput, match=message):
            loads(LONG + steps.replace("depth: 4", bad), "x.yaml", h.registries)
    with pytest.raises(BadInput, match=r"x\.yaml:9: faults\.steps\[0\]\.nodes\[0\]: unknown node 'n9'"):
        loads(LONG + steps.replace("[n2]", "[n9]"), "x.yaml", h.registries)
    without = Harness()  # the same file, where wobble is not registered
    with pytest.raises(BadInput, match=r"unknown fault kind 'wobble'"):
        loads(LONG + steps, "x.yaml", without.registries)


def test_a_declared_kinds_random_keys_are_accepted_drawn_and_validated() -> None:
    h = harness_with(wobble=Wobble)
    block = "faults:\n  random: {kinds: [wobble], styles: [hard], among: [n3], duration: [1, 2]}\n"
    exp = loads(LONG + block, "x.yaml", h.registries)
    events = generate(exp, 4, h.registries).events
    assert events and all(e.params["style"] == "hard" and e.params["nodes"] == ["n3"] for e in events)
    assert all(e.params["ratio"] == 0.5 and e.params["depth"] == 3 for e in events)  # declared defaults
    with pytest.raises(BadInput, match=r"x\.yaml:8: faults\.random\.styles\[0\]: .*soft"):
        loads(LONG + block.replace("[hard]", "[wild]"), "x.yaml", h.registries)
    with pytest.raises(BadInput, match=r"x\.yaml:8: faults\.random.*stlyes"):
        loads(LONG + block.replace("styles", "stlyes"), "x.yaml", h.registries)
    with pytest.raises(BadInput, match=r"styles"):  # a key only a kind that is not registered reads
        loads(LONG + block, "x.yaml", Harness().registries)


def test_an_old_protocol_kind_keeps_working_its_steps_open_and_its_random_keys_any_value() -> None:
    h = harness_with(**{"old-style": OldStyle})
    steps = "faults:\n  steps:\n    - {kind: old-style, strength: 3, at: 1, duration: 2}\n"
    assert loads(LONG + steps, "x.yaml", h.registries).steps[0].params == {"strength": 3}
    with pytest.raises(BadInput, match=r"x\.yaml:9: faults\.steps\[0\]\.strength: at most 5"):
        loads(LONG + steps.replace("3", "7"), "x.yaml", h.registries)
    block = "faults:\n  random: {kinds: [old-style], flavour: {any: thing}, duration: [1, 2]}\n"
    exp = loads(LONG + block, "x.yaml", h.registries)
    assert random_spec(OldStyle(), exp.random.params) == {"flavour": {"any": "thing"}}
    assert (
        effect_of(OldStyle()) is None
        and "fault-old-style" not in experiment_schema({"old-style": OldStyle()})["$defs"]
    )


def test_the_nemesis_records_the_declared_effect_with_each_fault_op() -> None:
    h = harness_with(wobble=Wobble)
    c = FakeCluster(FakeTarget(Store()), 3, None)
    writer = HistoryWriter()
    nem = Nemesis(generate(loads(LONG, "x.yaml", h.registries), 1, h.registries), c, writer, h.registries)
    ev = nem.inject("wobble", nodes=["n1"], depth=2)
    nem.inject("kill", nodes=["n2"])
    nem.end(ev)
    nem.stop()
    values = {(op.f, op.value.get("effect")) for op in writer.history()}
    assert values == {
        ("start-wobble", PAUSED),
        ("stop-wobble", PAUSED),
        ("start-kill", DOWN),
        ("stop-kill", DOWN),
    }
    assert ("pause", "n1") in c.calls and ("resume", "n1") in c.calls


def test_params_check_and_schema_agree() -> None:
    declared = Wobble.parameters
    check_params(declared, {"depth": 1, "ratio": 1, "style": "hard", "nodes": ["n1"]}, "wobble")
    for params, field in [
        ({"depth": True}, ("depth",)),
        ({"depth": 2, "ratio": 0}, ("ratio",)),
        ({"depth": 2, "nodes": ["n1", ""]}, ("nodes", 1)),
        ({}, ("depth",)),
        ({"depth": 2, "extra": 1}, ("extra",)),
    ]:
        with pytest.raises(ParamError) as e:
            check_params(declared, params, "wobble")
        assert e.value.field == field
    assert Param("x", "number", minimum=0, exclusive_minimum=True).schema() == {
        "type": "number",
        "exclusiveMinimum": 0,
    }
    with pytest.raises(ValueError, match="type"):
        Param("x", "float")


def test_a_hand_injected_fault_is_completed_and_checked_like_a_step() -> None:
    h = harness_with(wobble=Wobble)
    c = FakeCluster(FakeTarget(Store()), 3, None)
    nem = Nemesis(
        generate(loads(LONG, "x.yaml", h.registries), 1, h.registries), c, HistoryWriter(), h.registries
    )
    with pytest.raises(ParamError, match="not a field of wobble"):
        nem.inject("wobble", depth=2, bogus=1)
    ev = nem.inject("wobble", depth=2)  # nodes drawn, defaults filled in
    assert ev.params == {"depth": 2, "ratio": 0.5, "style": "soft", "nodes": [ev.params["nodes"][0]]}
    assert list(Wobble().smaller({"nodes": ["n1", "n2"], "depth": 2}, CTX3)) == [
        {"nodes": ["n2"], "depth": 2},
        {"nodes": ["n1"], "depth": 2},
    ]
    nem.stop()


CTX3 = FaultContext(("n1", "n2", "n3"), ())
