"""The pytest plugin: YAML experiments collected as items (one per seed), verdicts, failure text and JUnit."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiment_fakes import BASE, Harness

import harness.loader
import harness.run

pytest_plugins = ["pytester"]

PARTITION = (
    "faults:\n  steps:\n    - {kind: partition, shape: isolate, nodes: [n1], at: 0.3, duration: 0.5}\n"
)


@pytest.fixture
def fake_world(monkeypatch: pytest.MonkeyPatch) -> Harness:
    h = Harness()
    monkeypatch.setattr(harness.loader, "Registries", lambda: h.registries)
    monkeypatch.setattr(harness.run, "Registries", lambda: h.registries)
    monkeypatch.setattr(harness.run, "_default_cluster_factory", lambda: h.open_cluster)
    return h


def test_experiments_become_items_with_verdicts_and_junit(
    pytester: pytest.Pytester, fake_world: Harness, tmp_path: Path
) -> None:
    exps = pytester.mkdir("experiments")
    (exps / "good.yaml").write_text(BASE.replace("name: fake-exp", "name: good"))
    buggy = BASE.replace("expect: valid", "expect: invalid").replace(
        "nodes: 3}", "nodes: 3, mode: stale-read}"
    )
    (exps / "caught.yaml").write_text(buggy.replace("name: fake-exp", "name: caught") + PARTITION)
    (exps / "missed.yaml").write_text(buggy.replace("name: fake-exp", "name: missed"))
    (exps / "broken.yaml").write_text("expect: valid\ntarget: {name: nope}\nworkload: {duration: 1}\n")
    pytester.makefile(".yaml", notes="just: data")  # not under experiments/: never collected
    out = tmp_path / "reports"
    junit = tmp_path / "junit.xml"
    result = pytester.runpytest_inprocess(
        "experiments", "--chaos-out", str(out), f"--junitxml={junit}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2, failed=2)
    text = result.stdout.str()
    assert "expected invalid, got valid: planted bug not caught" in text and "seed: 7" in text
    missed = next(out.glob("missed/2*"))  # the replay line is whole: the bundle's absolute path, pasteable
    assert f"replay {missed.resolve()}\n" in text  # the whole command: the bundle's absolute path
    assert "broken.yaml:2: target.name: unknown target 'nope'" in text
    xml = junit.read_text()
    assert 'name="seed" value="7"' in xml and 'name="bundle"' in xml
    import xml.etree.ElementTree as ET

    classes = {c.get("classname") for c in ET.parse(junit).getroot().iter("testcase")}
    assert classes == {"experiments.good", "experiments.caught", "experiments.missed", "experiments.broken"}
    assert (out / "good" / "latest" / "history.jsonl").is_file()


def test_one_item_per_seed(pytester: pytest.Pytester, fake_world: Harness, tmp_path: Path) -> None:
    exps = pytester.mkdir("experiments")
    (exps / "good.yaml").write_text(BASE.replace("name: fake-exp", "name: good"))
    result = pytester.runpytest_inprocess(
        "experiments",
        "--chaos-seed",
        "1",
        "--chaos-seed",
        "2",
        "--chaos-out",
        str(tmp_path),
        "--collect-only",
        "-q",
    )
    assert (
        "good.yaml::good[seed=1]" in result.stdout.str() and "good.yaml::good[seed=2]" in result.stdout.str()
    )


def test_faults_by_hand_and_play_fixtures_record_into_the_recorder(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from harness.net.fake import FakeNet
        from harness.runtime.nemesis import FaultLoop
        from harness.schedule import FaultEvent
        from harness.target import Completion

        class Topo:
            nodes = ("n1", "n2")
            links = (("n1", "n2"), ("n2", "n1"))

        class Cluster:
            nodes = ("n1", "n2")
            client_addrs = {}
            def __init__(self):
                self.net = FakeNet(self.nodes)
                self.net.topology = Topo()

        class Client:
            def __init__(self, net):
                self.net = net
            def invoke(self, f, value):
                return Completion("ok" if self.net.reachable("n1", "n2") else "info", value)
            def close(self):
                pass

        class Target:
            def __init__(self, cluster):
                self.cluster = cluster
            def client(self, addrs, process, timeout):
                return Client(self.cluster.net)

        class Workload:
            name = "w"
            def plan(self, process, rng):
                class Plan:
                    n = 0
                    def next(self, last):
                        self.n += 1
                        return None if self.n > 3 else ("write", self.n)
                return Plan()
            def final_ops(self):
                return [("read", None)]

        def test_faults(chaos_faults, chaos_recorder):
            c = Cluster()
            faults = chaos_faults(c)
            cut = faults.inject("partition", shape="isolate", nodes=["n1"])
            assert not c.net.reachable("n1", "n2")
            faults.end(cut)
            assert c.net.reachable("n1", "n2")
            faults.inject("partition", shape="isolate", nodes=["n2"])
            faults.heal()
            assert c.net.reachable("n2", "n1")
            fs = [op.f for op in chaos_recorder.history()]
            assert fs == ["start-partition", "stop-partition"] * 2

        def test_deprecated_mesh_alias(chaos_mesh, chaos_recorder):
            c = Cluster()
            mesh = chaos_mesh(c)
            mesh.start("partition", shape="isolate", nodes=["n1"])
            assert not c.net.reachable("n1", "n2")
            mesh.heal()
            assert [op.f for op in chaos_recorder.history()] == ["start-partition", "stop-partition"]

        def test_play(chaos_play, chaos_recorder):
            c = Cluster()
            h = chaos_play(c, Target(c), Workload(), duration=30, seed=1, concurrency=2)
            assert h.ops == chaos_recorder.history().ops
            assert sorted(op.process for op in h if op.f == "write" and op.type == "ok") == [0, 0, 0, 1, 1, 1]
            assert [(op.process, op.type) for op in h if op.f == "read"] == [(2000, "invoke"), (2000, "ok")]
        """
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_a_crashed_run_fails_its_item_naming_the_crash(
    pytester: pytest.Pytester, fake_world: Harness, tmp_path: Path
) -> None:
    exps = pytester.mkdir("experiments")
    crash = BASE.replace("name: fake-exp", "name: crash").replace(
        "rate: 200}", "rate: 200, options: {crash_after: 5}}"
    )
    (exps / "crash.yaml").write_text(crash)
    (exps / "quiet.yaml").write_text(BASE.replace("name: fake-exp", "name: quiet"))
    junit = tmp_path / "junit.xml"
    result = pytester.runpytest_inprocess(
        "experiments", "--chaos-out", str(tmp_path / "r"), f"--junitxml={junit}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1, failed=1)
    text = result.stdout.str()
    assert "run crashed (exit 3): crashed: worker-" in text and "RuntimeError: plan exploded" in text
    xml = junit.read_text()
    assert 'name="outcome" value="crashed"' in xml and 'name="outcome" value="pass"' in xml
    assert 'name="note" value="no fault was injected (the fault schedule was empty)' in xml
