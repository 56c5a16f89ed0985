"""Templates of target declarations: parsing, field checks before anything runs, rendering and joins."""

from __future__ import annotations

import pytest

from harness.declare.templates import (
    Join,
    Names,
    NodeVars,
    Template,
    TemplateError,
    check,
    peer_nodes,
    render,
)
from harness.target import Addr

NAMES = Names(ports=frozenset({"client", "peer"}), roles=frozenset({"primary"}), options=frozenset({"ms"}))


def vars_for(node: str = "n2") -> NodeVars:
    nodes = ("n1", "n2", "n3")
    addrs = {
        n: {"client": Addr(f"h{n}", 100 + i), "peer": Addr(f"h{n}", 200 + i)} for i, n in enumerate(nodes)
    }
    return NodeVars(
        node=node,
        nodes=nodes,
        host=f"h{node}",
        ports={"client": 100 + nodes.index(node), "peer": 200 + nodes.index(node)},
        data_dir=f"/data/{node}",
        addrs=addrs,
        roles={"primary": ("n1",)},
        bind="0.0.0.0",
        options={"ms": 50},
    )


def test_fields_render_from_the_nodes_values() -> None:
    t = Template.parse("{node}#{index} {host}:{port.peer} {bind} {data_dir} {nodes} {option.ms} {{x}}")
    check(t, NAMES)
    assert render(t, vars_for()) == "n2#2 hn2:201 0.0.0.0 /data/n2 3 50 {x}"


def test_peers_and_roles_are_addressed_as_this_node_reaches_them() -> None:
    t = Template.parse(
        "{peer.n3.host}:{peer.n3.port.client} {role.primary}={role.primary.host}:{role.primary.port.peer}"
    )
    check(t, NAMES)
    assert render(t, vars_for()) == "hn3:102 n1=hn1:200"
    assert peer_nodes(t) == {"n3"}


def test_join_expands_over_nodes_peers_and_roles() -> None:
    each = Template.parse("{member}=http://{member.host}:{member.port.peer}")
    everyone = Join(",", "nodes", each)
    check(everyone, NAMES)
    assert render(everyone, vars_for()) == "n1=http://hn1:200,n2=http://hn2:201,n3=http://hn3:202"
    assert render(Join(" ", "peers", Template.parse("{member.index}")), vars_for()) == "1 3"
    assert render(Join(";", "role.primary", Template.parse("{member}")), vars_for()) == "n1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nod}", "{nod}: unknown field; valid: node, index"),
        ("{port.admin}", "no port named 'admin'; ports: client, peer"),
        ("{option.nope}", "no option 'nope'; declared options: ms"),
        ("{role.leader.host}", "no role 'leader'; roles: primary"),
        ("{peer.n1.hostname}", "after a node, write .host, .index or .port.P"),
        ("{member.host}", "exists only inside a join's each"),
        ("http://{host", "unmatched '{'"),
        ("a}b", "unmatched '}'"),
        ("{a b}", "is not a field name"),
    ],
)
def test_bad_fields_are_rejected_with_what_is_valid(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=None) as e:
        check(Template.parse(text), NAMES)
    assert message in str(e.value)


def test_a_join_over_an_unknown_set_is_rejected() -> None:
    with pytest.raises(TemplateError, match="valid: nodes, peers, role.primary"):
        check(Join(",", "others", Template.parse("{member}")), NAMES)


def test_a_peer_the_cluster_lacks_fails_at_render_with_the_nodes_listed() -> None:
    with pytest.raises(TemplateError, match="no node 'n7' in this cluster; nodes: n1, n2, n3"):
        render(Template.parse("{peer.n7.host}"), vars_for())
