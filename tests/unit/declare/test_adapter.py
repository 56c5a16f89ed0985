"""``DeclaredTarget``: a declaration through the Target protocol; how experiments name declared targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos_examples.redis.client import RedisClient
from harness.declare import load_target
from harness.errors import BadInput
from harness.loader import loads
from harness.target import Addr, ClientContext, ImageBuild, NodeContext, Readiness

ROOT = Path(__file__).resolve().parents[3]
NODES = ("n1", "n2", "n3")


def docker_ctx(node: str, ports: dict[str, int], flags: frozenset[str] = frozenset()) -> NodeContext:
    """As on docker: every node is its hostname, peers dial the real ports."""
    return NodeContext(
        node=node,
        nodes=NODES,
        listen=Addr("0.0.0.0", next(iter(ports.values()))),
        peers={},
        data_dir="/data",
        flags=flags,
        host=node,
        ports=ports,
        peer_addrs={n: {p: Addr(n, v) for p, v in ports.items()} for n in NODES if n != node},
        backend="docker",
    )


def test_etcd_members_are_given_one_url_per_peer_on_docker() -> None:
    t = load_target(ROOT / "examples/etcd/target.yaml")
    assert t.name == "etcd" and t.planted_bugs == {"linearizable", "serializable-reads"}
    assert dict(t.ports) == {"client": 2379, "peer": 2380} and t.default_workload == "kv"
    specs = [t.node_spec(docker_ctx(n, {"client": 2379, "peer": 2380})) for n in NODES]
    clusters = {a.split("=", 1)[1] for s in specs for a in s.argv if a.startswith("--initial-cluster=")}
    assert clusters == {"n1=http://n1:2380,n2=http://n2:2380,n3=http://n3:2380"}
    assert "--listen-peer-urls=http://0.0.0.0:2380" in specs[1].argv
    assert "--initial-advertise-peer-urls=http://n2:2380" in specs[1].argv
    assert specs[0].ready == Readiness("http", port="client", path="/health", status=200)
    assert specs[0].image == ImageBuild(packages=("etcd-server",))
    assert t.images == (ImageBuild(packages=("etcd-server",)),)


def test_redis_replicas_dial_the_primary_through_their_link_on_local() -> None:
    t = load_target(ROOT / "examples/redis/target.yaml")
    ctx = NodeContext(
        node="n2",
        nodes=NODES,
        listen=Addr("127.0.0.1", 40002),
        peers={},
        data_dir="/tmp/d/n2",
        host="127.0.0.1",
        ports={"client": 40002},
        peer_addrs={"n1": {"client": Addr("127.0.0.1", 41012)}, "n3": {"client": Addr("127.0.0.1", 41032)}},
        backend="local",
        flags=frozenset({"volatile-primary"}),
    )
    argv = t.node_spec(ctx).argv
    assert argv[-3:] == ("--replicaof", "127.0.0.1", "41012")  # the proxy of link n2 -> n1
    assert "--appendonly" in argv and argv[argv.index("--port") + 1] == "40002"
    assert argv.count("--appendonly") == 1  # volatile-primary adds its arguments to the primary only
    primary = t.node_spec(
        NodeContext(
            "n1",
            NODES,
            Addr("127.0.0.1", 40001),
            {},
            "/tmp/d/n1",
            frozenset({"volatile-primary"}),
            host="127.0.0.1",
            ports={"client": 40001},
            backend="local",
        )
    ).argv
    assert primary[-2:] == ("--appendonly", "no") and "--replicaof" not in primary


def test_topology_checks_counts_options_and_roles() -> None:
    t = load_target(ROOT / "examples/redis/target.yaml")
    assert t.topology(3, {}).nodes == NODES
    with pytest.raises(BadInput, match="nodes: redis runs 2 to 5 nodes, got 1"):
        t.topology(1, {})
    with pytest.raises(BadInput, match=r"options.isolation: not an option of redis; valid: \(none"):
        t.topology(3, {"isolation": "x"})
    pg = load_target(ROOT / "examples/postgres/target.yaml")
    assert pg.topology(2, {"isolation": "repeatable read"}).nodes == ("n1", "n2")


def test_the_client_gets_the_runs_flags_options_and_roles() -> None:
    t = load_target(ROOT / "examples/redis/target.yaml")
    addrs = {n: Addr("127.0.0.1", 1) for n in NODES}
    plain = t.client(addrs, 1, 1.0, context=ClientContext(nodes=NODES))
    assert isinstance(plain, RedisClient) and plain.reader == "n1" and plain.primary == "n1"
    flagged = t.client(addrs, 1, 1.0, context=ClientContext(flags=frozenset({"replica-reads"}), nodes=NODES))
    assert flagged.reader == "n3" and flagged.primary == "n1"
    pg = load_target(ROOT / "examples/postgres/target.yaml")
    two = {n: Addr("127.0.0.1", 1) for n in ("n1", "n2")}
    assert pg.client(two, 0, 1.0, context=ClientContext(nodes=("n1", "n2"))).isolation == "serializable"
    c = pg.client(
        two, 0, 1.0, context=ClientContext(options={"isolation": "repeatable read"}, nodes=("n1", "n2"))
    )
    assert c.isolation == "repeatable read"


EXP = """\
expect: valid
target: {TARGET}
workload: {duration: 5}
"""


def test_experiments_name_declared_targets_by_entry_point_path_or_search_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = loads(EXP.replace("{TARGET}", "{name: etcd, mode: serializable-reads}"), "e.yaml")
    assert exp.nodes == NODES and exp.workload.kind == "kv" and exp.target.flags == {"serializable-reads"}
    assert [c.name for c in exp.checkers] == ["linearizable"]
    exp_file = tmp_path / "exps" / "pg.yaml"
    exp_file.parent.mkdir()
    exp_file.write_text(EXP.replace("{TARGET}", f"{{declaration: {ROOT}/examples/postgres/target.yaml}}"))
    from harness.loader import load

    exp = load(exp_file)
    assert exp.target.name == "postgres" and exp.nodes == ("n1", "n2")  # the declaration's default count
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "target.yaml").write_text(
        (ROOT / "examples/redis/target.yaml").read_text().replace("name: redis", "name: mine")
    )
    monkeypatch.setenv("CHAOS_TARGET_PATH", str(tmp_path))
    exp = loads(EXP.replace("{TARGET}", "{name: mine, nodes: 2}"), "e.yaml")
    assert (
        exp.target.name == "mine"
        and exp.target.resolve(__import__("harness.registry").registry.Registries()).name == "mine"
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "{name: etcd, mode: stale}",
            "e.yaml:2: target.mode: unknown mode 'stale'; valid: correct, linearizable, serializable-reads",
        ),
        ("{name: etcd, nodes: 9}", "e.yaml:2: target: nodes: etcd runs 1 to 7 nodes, got 9"),
        (
            "{declaration: nope/target.yaml}",
            "e.yaml:2: target.declaration: nope/target.yaml: no such target declaration",
        ),
        (
            "{name: redis, declaration: examples/etcd/target.yaml}",
            "e.yaml:2: target.name: the declaration examples/etcd/target.yaml declares 'etcd'",
        ),
        ("{nodes: 3}", "e.yaml:2: target: give name (a registered or declared target"),
        (
            "{name: cassandra}",
            "e.yaml:2: target.name: unknown target 'cassandra'; registered: echo, etcd, kv",
        ),
    ],
)
def test_experiment_mistakes_about_declared_targets(
    target: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(BadInput) as e:
        loads(EXP.replace("{TARGET}", target), "e.yaml")
    assert message in str(e.value)


def test_a_backend_the_declaration_excludes_is_refused_before_starting() -> None:
    t = load_target(ROOT / "examples/etcd/target.yaml")
    ctx = NodeContext(
        "n1", NODES, Addr("127.0.0.1", 1), {}, "/d", host="127.0.0.1", ports={"client": 1, "peer": 2}
    )
    with pytest.raises(BadInput, match="backend local: etcd runs only on docker .* pass --backend docker"):
        t.node_spec(ctx)


def test_the_file_form_keeps_a_relative_declaration_usable_from_elsewhere(tmp_path: Path) -> None:
    """Bundles save the experiment beside the run, so ``chaos replay`` must still find the declaration."""
    from harness.loader import load

    exp_file = tmp_path / "exps" / "redis.yaml"
    exp_file.parent.mkdir()
    (tmp_path / "redis").mkdir()
    (tmp_path / "redis" / "target.yaml").write_text((ROOT / "examples/redis/target.yaml").read_text())
    exp_file.write_text(EXP.replace("{TARGET}", "{declaration: ../redis/target.yaml}"))
    exp = load(exp_file)
    saved = tmp_path / "elsewhere" / "experiment.yaml"
    saved.parent.mkdir()
    saved.write_text(exp.to_yaml())
    again = load(saved)
    assert again.target.declaration == str(tmp_path / "redis" / "target.yaml")
    assert again.target.resolve(__import__("harness.registry").registry.Registries()).name == "redis"
