"""KV target parts without a cluster: state machine, request validation, node configuration, client outcomes,
workload plans and the target adapter."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos_targets.kv.client import KvClient
from chaos_targets.kv.node import ConfigError, parse_config
from chaos_targets.kv.service import KvStateMachine, validate
from chaos_targets.kv.target import KvTarget
from chaos_targets.kv.workload import KvWorkload
from harness.errors import BadInput
from harness.target import Addr, NodeContext

ROOT = Path(__file__).resolve().parents[3]


def test_state_machine_put_and_cas() -> None:
    sm = KvStateMachine()
    assert sm.apply({"op": "cas", "key": "a", "from": None, "to": 1}) == {"ok": True}
    assert sm.apply({"op": "put", "key": "a", "value": 2}) == {"ok": True}
    miss = sm.apply({"op": "cas", "key": "a", "from": 1, "to": 3})
    assert miss["ok"] is False and miss["definite"] is True and miss["current"] == 2
    assert sm.data == {"a": 2}


@pytest.mark.parametrize(
    ("req", "complaint"),
    [
        ({"op": "drop", "key": "a"}, "unknown op"),
        ({"op": "get", "key": 3}, "'key' must be a string"),
        ({"op": "put", "key": "a"}, "needs field 'value'"),
        ({"op": "cas", "key": "a", "to": 1}, "'from' and 'to'"),
    ],
)
def test_malformed_requests_are_named(req: dict[str, object], complaint: str) -> None:
    problem = validate(req)
    assert problem is not None and complaint in problem


GOOD = ["--id", "n1", "--listen", "127.0.0.1:7001", "--data-dir", "/tmp/x", "--peer", "n2=127.0.0.1:7002"]


def test_a_good_configuration_parses() -> None:
    cfg = parse_config([*GOOD, "--peer", "n3=h:7003", "--flag", "stale-read", "--election-ms", "200-400"])
    assert cfg.peers == {"n2": ("127.0.0.1", 7002), "n3": ("h", 7003)}
    assert cfg.flags == {"stale-read"} and cfg.raft.election_min_ms == 200


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (GOOD[:6], "no peers"),
        ([*GOOD, "--peer", "n2=127.0.0.1:7009"], "duplicate node id 'n2'"),
        ([*GOOD, "--peer", "n1=127.0.0.1:7009"], "duplicate node id 'n1'"),
        ([*GOOD, "--peer", "n3=nohost"], "not HOST:PORT"),
        ([*GOOD, "--flag", "fast-mode"], "'fast-mode' is unknown"),
        ([*GOOD, "--election-ms", "abc"], "MIN-MAX"),
        (GOOD[:4] + GOOD[6:], "--data-dir"),
    ],
)
def test_bad_configuration_is_one_clear_line(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(argv)


def run_node(*argv: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "chaos_targets.kv.node", *argv]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=20)


def test_node_stops_at_start_on_bad_config_and_unusable_data_dir(tmp_path: Path) -> None:
    res = run_node("--id", "n1", "--listen", "127.0.0.1:7001", "--data-dir", str(tmp_path))
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "kv-node: error: no peers: give every other node as --peer ID=HOST:PORT"
        " (a Raft cluster needs >= 2 nodes)"
    )
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    res = run_node("--id", "n1", "--listen", "127.0.0.1:7001", "--data-dir", str(blocker), "--peer", "n2=h:1")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith("kv-node: error: data dir") and len(res.stderr.strip().splitlines()) == 1


class FakeNode:
    """A one-connection line server replying per a script: a dict reply, 'hang' or 'close'."""

    def __init__(self, script: list[object]) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.addr = Addr("127.0.0.1", self.sock.getsockname()[1])
        self.script = script
        self.seen: list[dict[str, object]] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        f = conn.makefile("rwb")
        for step in self.script:
            line = f.readline()
            if not line:
                return
            self.seen.append(json.loads(line))
            if step == "hang":
                continue
            if step == "close":
                conn.close()
                return
            f.write(json.dumps(step).encode() + b"\n")
            f.flush()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def fake() -> Iterator[type[FakeNode]]:
    made: list[FakeNode] = []

    def make(script: list[object]) -> FakeNode:
        node = FakeNode(script)
        made.append(node)
        return node

    yield make  # type: ignore[misc]
    for n in made:
        n.close()


def test_client_maps_replies_to_honest_outcomes(fake: type[FakeNode]) -> None:
    node = fake(
        [
            {"ok": True, "value": 3},
            {"ok": True},
            {"ok": False, "error": "cas mismatch", "definite": True},
            {"ok": False, "error": "commit timeout", "definite": False},
            "hang",
            "hang",  # keeps the connection open, unanswered
        ]
    )
    c = KvClient({"n1": node.addr}, 0, timeout=0.5)
    assert c.invoke("read", {"key": "a", "value": None}).value == {"key": "a", "value": 3}
    assert c.invoke("write", {"key": "a", "value": 4}).type == "ok"
    mismatch = c.invoke("cas", {"key": "a", "from": 1, "to": 2})
    assert (mismatch.type, mismatch.error) == ("fail", "mismatch")
    assert c.invoke("cas", {"key": "a", "from": 4, "to": 2}).type == "info"
    timed_out = c.invoke("write", {"key": "a", "value": 5})
    assert timed_out.type == "info" and "TimeoutError" in (timed_out.error or "")
    assert node.seen[1] == {"op": "put", "key": "a", "value": 4}
    assert node.seen[2] == {"op": "cas", "key": "a", "from": 1, "to": 2}
    c.close()


def test_client_refused_is_fail_and_lost_connection_is_info(fake: type[FakeNode]) -> None:
    free = socket.create_server(("127.0.0.1", 0))
    refused = Addr("127.0.0.1", free.getsockname()[1])
    free.close()
    node = fake(["close"])
    c = KvClient({"n1": refused, "n2": node.addr}, 0, timeout=0.5)
    assert c.invoke("write", {"key": "a", "value": 1}).type == "fail"  # never sent
    assert c.node == "n2"  # moved on after the failure
    assert c.invoke("write", {"key": "a", "value": 1}).type == "info"  # sent, then the connection broke
    c.close()


def test_workload_plans_are_seeded_and_bounded() -> None:
    w = KvWorkload({"ops": 50, "keys": 2, "values": 3})
    plan1, plan2 = w.plan(0, random.Random(9)), w.plan(0, random.Random(9))
    ops1 = [plan1.next(None) for _ in range(51)]
    assert ops1 == [plan2.next(None) for _ in range(51)]
    assert ops1[-1] is None and all(op is not None for op in ops1[:50])
    fs = {op[0] for op in ops1 if op}
    assert fs == {"read", "write", "cas"}
    assert {op[1]["key"] for op in ops1 if op} <= {"k0", "k1"}
    assert w.final_ops() == [("read", {"key": "k0", "value": None}), ("read", {"key": "k1", "value": None})]
    assert w.checkers() == {"linearizable": {"model": "kv"}}


@pytest.mark.parametrize("opts", [{"keyz": 1}, {"keys": 0}, {"read": -1}, {"read": 0, "write": 0, "cas": 0}])
def test_workload_rejects_bad_options(opts: dict[str, object]) -> None:
    with pytest.raises(BadInput, match="workload"):
        KvWorkload(opts)


def test_target_topology_and_node_spec() -> None:
    t = KvTarget()
    topo = t.topology(3, {})
    assert topo.nodes == ("n1", "n2", "n3") and ("n1", "n2") in topo.links and len(topo.links) == 6
    with pytest.raises(BadInput, match="at least 3"):
        t.topology(2, {})
    ctx = NodeContext(
        node="n1",
        nodes=topo.nodes,
        listen=Addr("127.0.0.1", 7001),
        peers={"n2": Addr("127.0.0.1", 8002), "n3": Addr("127.0.0.1", 8003)},
        data_dir="/tmp/d",
        flags=frozenset({"stale-read"}),
        options={"election_ms": "200-400"},
    )
    argv = t.node_spec(ctx).argv
    assert argv[:3] == ("python3", "-m", "chaos_targets.kv.node")
    cfg = parse_config(list(argv[3:]))
    assert cfg.peers == {"n2": ("127.0.0.1", 8002), "n3": ("127.0.0.1", 8003)}
    assert cfg.flags == {"stale-read"} and cfg.raft.election_max_ms == 400
    with pytest.raises(BadInput, match="not a kv flag"):
        t.node_spec(NodeContext("n1", topo.nodes, Addr("h", 1), {}, "/d", frozenset({"nope"})))
