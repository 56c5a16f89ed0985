"""``chaos run --dry-run`` (the resolved plan, nothing started) and what ``chaos doctor`` lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.cli.doctor import registered
from harness.loader import load, with_overrides
from harness.plan import resolve_plan

ROOT = Path(__file__).resolve().parents[2]


def _no_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("a dry run must not start anything")

    monkeypatch.setattr("harness.platform.open_cluster", refuse)
    monkeypatch.setattr("harness.run.run_experiment", refuse)
    monkeypatch.setattr("harness.cli.run.run_experiment", refuse)


def test_the_plan_of_a_declared_target_on_docker() -> None:
    exp = load(ROOT / "experiments/etcd-linearizable.yaml")
    plan = resolve_plan(exp, 7)
    assert plan.backend == "docker" and plan.target == "etcd" and plan.declaration
    assert [n.node for n in plan.nodes] == ["n1", "n2", "n3"]
    clusters = {a.split("=", 1)[1] for n in plan.nodes for a in n.argv if a.startswith("--initial-cluster=")}
    assert clusters == {"n1=http://n1:2380,n2=http://n2:2380,n3=http://n3:2380"}
    assert all(n.ports == {"client": 2379, "peer": 2380} for n in plan.nodes)
    assert "etcd-server" in plan.nodes[0].image and plan.nodes[0].ready.startswith("http: GET :client/health")
    assert plan.schedule == resolve_plan(exp, 7).schedule and plan.schedule.events


def test_the_plan_on_local_shows_roles_and_the_replicas_link_to_the_primary() -> None:
    exp = with_overrides(load(ROOT / "experiments/redis-replica-reads.yaml"), backend="local")
    plan = resolve_plan(exp, 1)
    assert [(n.node, n.role) for n in plan.nodes] == [("n1", "primary"), ("n2", "replica"), ("n3", "replica")]
    primary_port = plan.nodes[0].ports["client"]
    replica = plan.nodes[1].argv
    assert replica[-3] == "--replicaof" and int(replica[-1]) != primary_port  # through the n2 -> n1 proxy
    assert plan.nodes[0].image.startswith("(none")


def test_dry_run_prints_the_plan_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_starting(monkeypatch)
    code = main(
        ["run", str(ROOT / "experiments/postgres-replica-reads.yaml"), "--dry-run", "--backend", "docker"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "target postgres (declared in" in out and "node n2 (role replica)" in out
    assert "pg_basebackup -h n1 -p 5432" in out and "postgresql-15" in out
    assert "fault schedule (" in out and "partition" in out


def test_dry_run_exits_3_on_bad_input_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_starting(monkeypatch)
    assert (
        main(["run", str(ROOT / "experiments/etcd-linearizable.yaml"), "--dry-run", "--backend", "local"])
        == 3
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "etcd runs only on docker" in err[0] and "--backend docker" in err[0]
    bad = ROOT / "tests/data/bad_experiments/unknown-target.yaml"
    assert main(["run", str(bad), "--dry-run"]) == 3
    assert "unknown target 'no-such-system'" in capsys.readouterr().err


def test_doctor_lists_targets_declared_ones_workloads_and_checkers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine.yaml").write_text(
        (ROOT / "examples/redis/target.yaml").read_text().replace("name: redis", "name: mine")
    )
    monkeypatch.setenv("CHAOS_TARGET_PATH", str(tmp_path))
    lines = dict(registered())
    assert "etcd (declared: " in lines["targets"] and "examples/etcd/target.yaml" in lines["targets"]
    assert (
        "kv" in lines["targets"].split(", ")
        and f"mine (declared: {tmp_path / 'mine.yaml'}" in lines["targets"]
    )
    assert (
        "kv" in lines["workloads"]
        and "linearizable" in lines["checkers"]
        and "partition" in lines["fault kinds"]
    )


@pytest.mark.parametrize(
    "path",
    sorted(
        p.name
        for p in (ROOT / "experiments").glob("*.yaml")
        if p.name.split("-")[0] in ("etcd", "redis", "postgres")
    ),
)
def test_every_shipped_example_experiment_resolves_on_docker(path: str) -> None:
    exp = with_overrides(load(ROOT / "experiments" / path), backend="docker")
    plan = resolve_plan(exp, 3)
    assert plan.declaration is not None and len(plan.nodes) == len(exp.nodes) >= 2
    assert all("built from the base image" in n.image for n in plan.nodes)
    assert plan.schedule.events  # every example experiment injects faults
