"""Loading target declarations: the shipped examples load, and every mistake names file:line: field."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.declare import load_declaration, loads_declaration
from harness.declare.model import spec_for
from harness.errors import BadInput

ROOT = Path(__file__).resolve().parents[3]
GOOD = """\
name: demo
ports: {client: 7000, peer: 7001}
command: [demo-server, --id, "{node}", --listen, "{bind}:{port.client}"]
client: chaos_examples.redis.client:RedisClient
"""


@pytest.mark.parametrize("name", ["etcd", "redis", "postgres"])
def test_the_shipped_examples_load(name: str) -> None:
    decl = load_declaration(ROOT / "examples" / name / "target.yaml")
    assert decl.name == name
    assert next(iter(decl.ports)) == "client"
    assert decl.workload == "kv"
    assert decl.base.image is not None and decl.base.image.packages


def test_a_minimal_declaration_has_defaults() -> None:
    decl = loads_declaration(GOOD, "t.yaml")
    assert (decl.nodes_default, decl.nodes_min, decl.nodes_max) == (3, 1, 9)
    assert list(decl.ports) == ["client", "peer"] and not decl.modes and not decl.roles


def bad(text: str) -> str:
    with pytest.raises(BadInput) as e:
        loads_declaration(text, "t.yaml")
    return str(e.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("ports: {client: 7000, peer: 7001}", "ports: {client: 70000}"),
            "t.yaml:2: ports.client: 70000 is too large",
        ),
        (('"{node}"', '"{nodename}"'), "t.yaml:3: command[2]: {nodename}: unknown field"),
        (
            ('"{bind}:{port.client}"', '"{bind}:{port.admin}"'),
            "t.yaml:3: command[4]: {port.admin}: no port named 'admin'",
        ),
        (
            ("client: chaos_examples.redis.client:RedisClient", "client: chaos_examples.nope:Client"),
            "t.yaml:4: client: cannot import chaos_examples.nope",
        ),
        (
            ("client: chaos_examples.redis.client:RedisClient", "client: redis-client"),
            "t.yaml:4: client: 'redis-client' is not allowed; expected 'module:Class'",
        ),
        (("name: demo", "name: demo\nport: 1"), "t.yaml:2: port: unknown field; allowed here:"),
        (("name: demo\n", ""), "t.yaml:1: name: missing required field"),
    ],
)
def test_mistakes_name_the_line_and_field(change: tuple[str, str], message: str) -> None:
    assert message in bad(GOOD.replace(*change))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("ready: {tcp: admin}", "t.yaml:5: ready.tcp: no port named 'admin'; ports: client, peer"),
        ("ready: {http: {port: client, status: 99}}", "t.yaml:5: ready.http.status: 99 is too small"),
        ("ready: {}", "t.yaml:5: ready: needs at least 1 entry"),
        (
            "image: {packages: [Etcd Server]}",
            "t.yaml:5: image.packages[0]: 'Etcd Server' is not allowed; expected a Debian package name",
        ),
        ("image: 5", "t.yaml:5: image: expected an image name 'name:tag', or {packages"),
        ("nodes: {default: 5, max: 3}", "t.yaml:5: nodes: default 5 is outside min 1 .. max 3"),
        (
            "roles: [{name: a, nodes: [n1]}, {name: b, nodes: [n1, n2]}]",
            "t.yaml:5: roles[1].nodes: node n1 is already in roles[0]",
        ),
        (
            "roles: [{name: a, nodes: rest}, {name: b, nodes: rest}]",
            "t.yaml:5: roles[1].nodes: roles[0] already takes the rest",
        ),
        (
            "roles: [{name: a, nodes: first}]",
            "t.yaml:5: roles[0].nodes: expected a list of node names (n1..n9) or 'rest'",
        ),
        (
            "roles: [{name: a, nodes: [n0]}]",
            "t.yaml:5: roles[0].nodes[0]: 'n0' is not allowed; expected a node name n1..n9",
        ),
        (
            "modes: {fast: {roles: {leader: {args: [-x]}}}}",
            "t.yaml:5: modes.fast.roles.leader: no role 'leader'",
        ),
        (
            "modes: {fast: {args: ['{option.speed}']}}",
            "t.yaml:5: modes.fast.args[0]: {option.speed}: no option 'speed'",
        ),
        (
            "env: {X: {join: ',', over: all, each: '{member}'}}",
            "t.yaml:5: env.X: over: 'all'; valid: nodes, peers",
        ),
        (
            "env: {X: {join: ',', each: '{member}'}}",
            "t.yaml:5: env.X.over: missing required field (required here: join, over, each)",
        ),
    ],
)
def test_section_mistakes_name_the_line_and_field(extra: str, message: str) -> None:
    assert message in bad(GOOD + extra + "\n")


def test_a_declaration_that_is_not_a_mapping() -> None:
    assert bad("- etcd\n") == (
        "t.yaml:1: (top level): expected a target declaration mapping with name, ports, command and client, "
        "got a list"
    )


def test_missing_file_and_directory() -> None:
    with pytest.raises(BadInput, match="no such target declaration"):
        load_declaration(ROOT / "nope.yaml")
    with pytest.raises(BadInput, match="is a directory; name the declaration .yaml file"):
        load_declaration(ROOT / "examples" / "etcd")


def test_resolution_layers_base_backend_role_and_modes() -> None:
    decl = loads_declaration(
        GOOD
        + """\
env: {A: base}
local: {env: {B: local}}
roles:
  - {name: primary, nodes: [n1], args: [--primary], env: {A: primary}}
  - {name: replica, nodes: rest, command: [replica-server, "{role.primary.host}"]}
modes:
  loud: {args: [--loud], env: {C: loud}, roles: {replica: {args: [--lag]}}}
""",
        "t.yaml",
    )
    nodes = ("n1", "n2", "n3")
    p = spec_for(decl, "n1", nodes, "local", frozenset({"loud"}))
    assert p.role == "primary"
    assert [x.source for x in p.command][-2:] == ["--primary", "--loud"]  # type: ignore[union-attr]
    assert {k: v.source for k, v in p.env.items()} == {"A": "primary", "B": "local", "C": "loud"}  # type: ignore[union-attr]
    r = spec_for(decl, "n3", nodes, "docker", frozenset())
    assert r.role == "replica" and [x.source for x in r.command] == ["replica-server", "{role.primary.host}"]  # type: ignore[union-attr]
    assert "B" not in r.env
    r = spec_for(decl, "n2", nodes, "docker", frozenset({"loud"}))
    assert [x.source for x in r.command][-2:] == ["--loud", "--lag"]  # type: ignore[union-attr]
