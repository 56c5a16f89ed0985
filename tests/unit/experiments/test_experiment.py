"""Experiment loading: defaults, modes, overrides and the runnable file form (with fake registries)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from experiment_fakes import BASE, Harness

from harness.errors import BadInput
from harness.loader import load, loads, with_overrides

LONG = BASE.replace("duration: 1,", "duration: 3,")


def test_defaults_and_topology() -> None:
    h = Harness()
    exp = loads(BASE, "x.yaml", h.registries)
    assert exp.name == "fake-exp" and exp.expect == "valid" and exp.seed == 7
    assert exp.nodes == ("n1", "n2", "n3") and ("n1", "n2") in exp.links
    assert exp.workload.kind == "fake" and exp.workload.concurrency == 2 and exp.workload.timeout == 1.0
    assert [c.name for c in exp.checkers] == ["no-stale"]  # the workload's default checkers
    assert exp.target.backend == "auto" and exp.target.flags == frozenset()


def test_mode_turns_on_a_planted_bug_and_mix_becomes_weights() -> None:
    h = Harness()
    text = BASE.replace("target: {name: fake, nodes: 3}", "target: {name: fake, nodes: 3, mode: stale-read}")
    text += "checkers: {no-stale: {budget: 5, strict: true}}\n"
    exp = loads(text.replace("rate: 200}", "rate: 200, keys: 4, mix: {read: 0.9}}"), "x.yaml", h.registries)
    assert exp.target.flags == frozenset({"stale-read"})
    assert exp.workload.options == {"keys": 4, "read": 0.9}
    assert exp.checkers[0].budget == 5 and dict(exp.checkers[0].options) == {"strict": True}


def test_file_name_is_the_default_name(tmp_path: Path) -> None:
    p = tmp_path / "my-run.yaml"
    p.write_text(BASE.replace("name: fake-exp\n", ""), encoding="utf-8")
    assert load(p, Harness().registries).name == "my-run"


def test_to_yaml_is_a_runnable_experiment_with_steps() -> None:
    h = Harness()
    text = (
        LONG
        + "faults:\n  steps:\n    - {kind: partition, shape: isolate, nodes: [n2], at: 0.5, duration: 1}\n"
    )
    exp = loads(text, "x.yaml", h.registries)
    again = loads(exp.to_yaml(), "again.yaml", h.registries)
    assert again.steps == exp.steps and again.workload == exp.workload and again.seed == exp.seed
    assert yaml.safe_load(exp.to_yaml())["faults"]["steps"][0]["nodes"] == ["n2"]


def test_overrides_clip_steps_and_validate() -> None:
    h = Harness()
    text = BASE.replace("duration: 1,", "duration: 10,") + (
        "faults:\n  steps:\n    - {kind: kill, at: 1, duration: 3}\n    - {kind: pause, at: 6, duration: 2}\n"
    )
    exp = with_overrides(loads(text, "x.yaml", h.registries), seed=3, backend="local", duration=3)
    assert exp.seed == 3 and exp.target.backend == "local" and exp.workload.duration == 3
    assert [(s.kind, s.at, s.duration) for s in exp.steps] == [("kill", 1.0, 2.0)]
    with pytest.raises(BadInput, match="--seed -1"):
        with_overrides(exp, seed=-1)


def test_target_rejecting_options_is_one_line_with_the_field() -> None:
    text = BASE.replace("nodes: 3}", "nodes: 3, options: {explode: true}}")
    with pytest.raises(BadInput) as e:
        loads(text, "x.yaml", Harness().registries)
    assert str(e.value).startswith("x.yaml:4: target.options: the target rejects these settings")


def test_random_schedule_too_long_for_the_window() -> None:
    text = BASE + "faults:\n  random: {kinds: [kill], duration: [5, 6]}\n"
    with pytest.raises(BadInput, match=r"x.yaml:8: faults.random: the fault window"):
        loads(text, "x.yaml", Harness().registries)


def test_two_process_faults_on_one_node_cannot_overlap_but_on_two_nodes_can() -> None:
    h = Harness()
    steps = "faults:\n  steps:\n    - {kind: kill, nodes: [n1], at: 0, duration: 1}\n"
    ok = LONG + steps + "    - {kind: pause, nodes: [n2], at: 0.5, duration: 1}\n"
    assert len(loads(ok, "x.yaml", h.registries).steps) == 2
    with pytest.raises(BadInput, match=r"x.yaml:10: faults.steps\[1\].at: overlaps steps\[0\]"):
        loads(
            LONG + steps + "    - {kind: pause, nodes: [n1], at: 0.5, duration: 1}\n", "x.yaml", h.registries
        )


def test_shipped_schema_is_valid_json_schema() -> None:
    import jsonschema

    from harness.schema import load_schema

    jsonschema.Draft202012Validator.check_schema(load_schema())


def test_schema_and_fault_kinds_do_not_drift() -> None:
    from harness.faults.partition import SHAPES
    from harness.names import TOXIC_ATTRIBUTES, TOXICS
    from harness.net.base import PARTITION_MODES
    from harness.schema import load_schema

    defs = load_schema()["$defs"]
    assert tuple(defs["partition"]["properties"]["shape"]["enum"]) == SHAPES
    assert tuple(defs["partition"]["properties"]["mode"]["enum"]) == PARTITION_MODES
    assert list(defs["link"]["properties"]["toxic"]["enum"]) == list(TOXICS)
    attributes = {a for attrs in TOXIC_ATTRIBUTES.values() for a in attrs}
    assert attributes <= set(defs["link"]["properties"])
    assert set(defs["random"]["properties"]["shapes"]["items"]["enum"]) == set(SHAPES) - {"groups"}
