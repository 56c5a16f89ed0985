"""Unit tests of the queue's pure parts: broker leases and redelivery, journal replay, sink idempotency,
target topology / argv, workload plans and option validation (no processes, no Docker)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from chaos_targets.common.journal import CorruptJournal, replay
from chaos_targets.queue.broker import BrokerState, Message
from chaos_targets.queue.sink import SinkService
from chaos_targets.queue.target import QueueTarget
from chaos_targets.queue.workload import QueueWorkload
from harness.errors import BadInput
from harness.target import Addr, NodeContext


def msg(i: int) -> Message:
    return Message(f"m{i}.1", f"m{i}", "a0", i)


def test_poll_leases_then_redelivers_after_expiry() -> None:
    b = BrokerState()
    b.add(msg(1))
    got = b.poll("c1", 100, now=0, wall_ns=1)
    assert got is not None and got[0].id == "m1.1" and got[1]["event"] == "deliver"
    assert b.poll("c2", 100, now=50, wall_ns=2) is None  # leased to c1
    again = b.poll("c2", 100, now=100, wall_ns=3)  # lease expired
    assert again is not None and again[1] == {
        "msg": "m1",
        "id": "m1.1",
        "consumer": "c2",
        "event": "redeliver",
        "time": 3,
    }


def test_ack_stops_redelivery_even_after_lease_expired() -> None:
    b = BrokerState()
    b.add(msg(1))
    b.poll("c1", 100, now=0, wall_ns=0)
    assert b.ack("m1.1", "c1", wall_ns=5) is not None
    assert b.poll("c2", 100, now=500, wall_ns=6) is None
    assert b.ack("m1.1", "c1", wall_ns=7) is None  # already acked: nothing changes
    assert b.stats(now=500) == {"total": 1, "acked": 1, "inflight": 0, "ready": 0}


def test_poll_is_fifo_and_adding_an_id_twice_enqueues_once() -> None:
    b = BrokerState()
    for i in (1, 2, 1):
        b.add(msg(i))
    order = [b.poll("c", 10, now=0, wall_ns=0) for _ in range(3)]
    assert [o[0].id if o else None for o in order] == ["m1.1", "m2.1", None]


def test_load_makes_every_unacked_message_ready_again() -> None:
    recs = [{"t": "enq", **msg(i).body()} for i in (1, 2, 3)] + [{"t": "ack", "id": "m2.1"}]
    recs.append(
        {"t": "ev", "ev": {"msg": "m1", "id": "m1.1", "consumer": "c1", "event": "deliver", "time": 0}}
    )
    b = BrokerState()
    b.load(recs)
    first = b.poll("c1", 10, now=0, wall_ns=0)
    second = b.poll("c1", 10, now=0, wall_ns=0)
    assert first is not None and first[1]["event"] == "redeliver"  # delivered before the restart
    assert second is not None and second[0].id == "m3.1" and second[1]["event"] == "deliver"
    assert b.poll("c1", 10, now=0, wall_ns=0) is None


def test_replay_drops_and_truncates_a_torn_tail(tmp_path: Path) -> None:
    p = tmp_path / "j"
    p.write_bytes(b'{"a":1}\n{"a":2}\n{"a":')
    assert replay(str(p)) == [{"a": 1}, {"a": 2}]
    assert p.read_bytes() == b'{"a":1}\n{"a":2}\n'


def test_replay_rejects_corruption_before_the_tail(tmp_path: Path) -> None:
    p = tmp_path / "j"
    p.write_bytes(b'{"a":1}\ngarbage\n{"a":2}\n')
    with pytest.raises(CorruptJournal, match=r"j:2: corrupt record"):
        replay(str(p))


def test_sink_dedups_by_id_durably_and_no_dedup_applies_again(tmp_path: Path) -> None:
    async def go() -> list[bool]:
        s = SinkService(str(tmp_path), frozenset())
        base = {"op": "apply", "id": "m1.1", "msg": "m1", "consumer": "c1", "account": "a", "amount": 3}
        r1 = await s.handle(base)
        r2 = await s.handle({**base, "consumer": "c2"})
        r3 = await s.handle({**base, "dedup": False})
        return [r1["applied"], r2["applied"], r3["applied"]]

    assert asyncio.run(go()) == [True, False, True]
    restarted = SinkService(str(tmp_path), frozenset())  # the journal holds effect and key together
    assert [e["consumer"] for e in restarted.state.effects] == ["c1", "c1"]
    assert restarted.state.balances == {"a": 6}


def test_topology_links_every_consumer_to_broker_and_sink() -> None:
    topo = QueueTarget().topology(2, {})
    assert topo.nodes == ("broker", "c1", "c2", "sink")
    assert set(topo.links) == {("c1", "broker"), ("c1", "sink"), ("c2", "broker"), ("c2", "sink")}
    assert topo.client_nodes == ("broker", "sink")


def test_consumer_argv_uses_mesh_peers_flags_and_options() -> None:
    ctx = NodeContext(
        "c1",
        ("broker", "c1", "sink"),
        Addr("127.0.0.1", 9001),
        {"broker": Addr("127.0.0.1", 9100), "sink": Addr("127.0.0.1", 9101)},
        "/d/c1",
        frozenset({"no-dedup"}),
        {"lease_ms": 300},
    )
    argv = QueueTarget().node_spec(ctx).argv
    assert argv[:3] == ("python3", "-m", "chaos_targets.queue.node")
    joined = " ".join(argv)
    for part in (
        "--role consumer",
        "--broker 127.0.0.1:9100",
        "--sink 127.0.0.1:9101",
        "--flags no-dedup",
        "--option lease_ms=300",
        "--listen 127.0.0.1:9001",
    ):
        assert part in joined


@pytest.mark.parametrize(
    ("options", "match"),
    [({"lease": 1}, "option 'lease' is unknown"), ({"lease_ms": 0}, "lease_ms is 0; expected an integer")],
)
def test_bad_target_options_name_the_field(options: dict[str, int], match: str) -> None:
    with pytest.raises(BadInput, match=match):
        QueueTarget().topology(3, options)


def test_workload_plan_sends_unique_seeded_messages_and_stops() -> None:
    w = QueueWorkload({"messages": 3, "accounts": 2})
    ops = []
    plan = w.plan(7, random.Random(1))
    while (nxt := plan.next(None)) is not None:
        ops.append(nxt)
    assert [v["msg"] for _, v in ops] == ["p7-1", "p7-2", "p7-3"]
    assert all(f == "send" and v["account"] in ("a0", "a1") and 1 <= v["amount"] <= 10 for f, v in ops)
    again = w.plan(7, random.Random(1))
    assert [again.next(None) for _ in range(3)] == ops
    assert w.final_ops()[0] == ("read-effects", None) and "exactly-once" in w.checkers()
    with pytest.raises(BadInput, match="option 'bogus' is unknown"):
        QueueWorkload({"bogus": 1})


def test_an_expired_lease_is_redelivered_before_the_waiting_backlog() -> None:
    b = BrokerState()
    for i in (1, 2, 3):
        b.add(msg(i))
    b.poll("c1", 100, now=0, wall_ns=0)  # m1 leased to a consumer that then stalls
    got = b.poll("c2", 100, now=150, wall_ns=0)
    assert got is not None and got[0].id == "m1.1" and got[1]["event"] == "redeliver"


def test_send_to_an_unreachable_broker_is_a_definite_failure() -> None:
    from harness.cluster.local import free_port

    addr = Addr("127.0.0.1", free_port())  # nothing listens there
    client = QueueTarget().client({"broker": addr, "sink": addr}, 0, 0.5)
    out = client.invoke("send", {"msg": "m1", "account": "a", "amount": 1})
    client.close()
    assert out.type == "fail" and "broker unreachable" in (out.error or "")
