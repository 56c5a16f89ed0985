"""The pytest fixtures check what an experiment file's loader checks, with the same words, before anything
starts (harness.fixture_run; no Docker needed: a refused setting starts nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.faults.event import FaultEvent
from harness.fixture_run import check_schedule, checker_specs, cluster_settings
from harness.loader import loads
from harness.registry import Registries
from harness.runtime.interpreter import workload_for
from harness.schedule import Schedule
from harness.target import ClientContext

pytest_plugins = ["pytester"]


def _loader_error(target_block: str) -> str:
    text = f"name: x\nexpect: valid\ntarget: {target_block}\nworkload: {{duration: 5}}\n"
    with pytest.raises(BadInput) as e:
        loads(text, "x.yaml")
    return str(e.value).split(": ", 2)[-1]  # without "x.yaml:3: target.mode"


@pytest.mark.parametrize(
    ("kw", "block", "field"),
    [
        ({"mode": "replica-raeds"}, "{name: redis, mode: replica-raeds}", "mode"),
        ({"flags": ["stale-raed"]}, "{name: kv, flags: [stale-raed]}", "flags[0]"),
        ({"nodes": 12}, "{name: kv, nodes: 2}", "nodes"),
    ],
)
def test_cluster_settings_refuse_what_the_loader_refuses(kw: dict, block: str, field: str) -> None:
    target = "redis" if "mode" in kw else "kv"
    with pytest.raises(BadInput) as e:
        cluster_settings(target, kw.get("nodes"), kw.get("mode", "correct"), kw.get("flags", ()), None)
    assert str(e.value).startswith(f"chaos_cluster: {field}: ")
    if field != "nodes":  # the schema refuses 12 nodes with its own words; the message body is the same check
        assert str(e.value).endswith(_loader_error(block))


def test_a_misspelled_mode_lists_the_valid_ones() -> None:
    with pytest.raises(BadInput, match=r"unknown mode 'replica-raeds'; valid: correct, .*replica-reads"):
        cluster_settings("redis", 3, "replica-raeds", (), None)


def test_node_count_bounds_are_the_schemas_and_the_targets() -> None:
    with pytest.raises(BadInput, match=r"chaos_cluster: nodes: expected a whole number of nodes from 1 to 9"):
        cluster_settings("kv", 10, "correct", (), None)
    ok = cluster_settings("kv", 3, "stale-read", (), {})
    assert ok.flags == frozenset({"stale-read"}) and ok.nodes == 3


def test_workloads_are_made_and_refused_as_the_loader_does() -> None:
    ctx = ClientContext(nodes=("n1", "n2", "n3"))
    assert workload_for("kv", {"keys": 2}, ctx).name
    with pytest.raises(BadInput, match=r"workload: unknown workload 'kvv'; registered: .*kv"):
        workload_for("kvv", {}, ctx)


def test_a_schedule_is_checked_as_faults_steps_are() -> None:
    class Net:
        from harness.target import Topology

        topology = Topology.full_mesh(("n1", "n2", "n3"))

    class FakeCluster:
        nodes = ("n1", "n2", "n3")
        net = Net()

    good = Schedule((FaultEvent("partition", 1, 2, {"shape": "isolate", "nodes": ["n2"]}),))
    check_schedule(good, FakeCluster(), 5)
    with pytest.raises(BadInput, match=r"chaos_play: faults\[0\]\.nodes\[0\]: .*'n7'"):
        check_schedule(Schedule((FaultEvent("kill", 1, 2, {"nodes": ["n7"]}),)), FakeCluster(), 5)
    with pytest.raises(BadInput, match=r"chaos_play: faults\[0\]\.duration: the fault ends at 6 s"):
        check_schedule(Schedule((FaultEvent("kill", 4, 2, {"nodes": ["n1"]}),)), FakeCluster(), 5)
    with pytest.raises(BadInput, match=r"unknown fault kind 'kil'"):
        check_schedule(Schedule((FaultEvent("kil", 1, 1, {}),)), FakeCluster(), 5)


def test_checkers_are_named_as_in_an_experiment() -> None:
    specs = checker_specs({"linearizable": {"model": "kv", "budget": 5}}, Registries())
    assert specs[0].budget == 5 and dict(specs[0].options) == {"model": "kv"}
    with pytest.raises(BadInput, match=r"unknown checker 'linearisable'"):
        checker_specs({"linearisable": {}}, Registries())


def test_chaos_cluster_fixture_refuses_a_misspelled_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_x(chaos_cluster):
            chaos_cluster("redis", nodes=3, mode="replica-raeds", backend="local")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*chaos_cluster: mode: unknown mode 'replica-raeds'; valid: correct*"])


def test_chaos_check_without_evidence_is_not_a_pass(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A history with no ok op proves nothing: the fixture's verdict is unknown, as ``chaos run``'s is."""
    pytester.makepyfile(
        """
        from harness.history import History
        from harness.op import Op

        def test_x(chaos_check):
            ops = [Op(0, 0, 0, "invoke", "read", {"key": "k", "value": None}),
                   Op(1, 1, 0, "info", "read", {"key": "k", "value": None}, error="timeout")]
            v = chaos_check(History(ops), {"linearizable": {"model": "kv"}})
            assert v.valid == "unknown" and not v.passed
            assert v.report is not None and v.report.is_file()
            print(v)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--chaos-out", str(tmp_path))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*expected valid, got unknown: *too little evidence*"])
