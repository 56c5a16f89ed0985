"""End-to-end queue runs on the ``local`` backend (no Docker) through the run interpreter
(``harness.runtime.interpreter.play``): the correct design loses and duplicates nothing under consumer kills
and pauses past the lease and broker kill -9 / pause, and each planted bug is caught; bad node configuration
stops a node at start with a one-line message."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chaos_targets.queue.target import QueueTarget
from chaos_targets.queue.workload import QueueWorkload
from harness.checkers.base import Result
from harness.checkers.exactly_once import check
from harness.cluster.local import free_port
from harness.cluster.rundir import project_root
from harness.platform import open_cluster
from harness.runtime.interpreter import play
from harness.runtime.nemesis import FaultLoop
from harness.schedule import FaultEvent

OPTIONS = {"lease_ms": 250, "work_ms": 10, "idle_ms": 10, "rpc_timeout_ms": 1000}
ROOT = project_root()


def churn(
    kinds: tuple[str, ...], seed: int, pause_s: float = 0.6, every: tuple[float, float] = (0.1, 0.25)
) -> FaultLoop:
    """Seeded faults of ``kinds`` (consumer-kill / -pause, broker-kill / -pause), one at a time."""

    def choose(cluster: Any, rng: random.Random) -> FaultEvent:
        consumers = [n for n in cluster.nodes if n.startswith("c")]
        kind = rng.choice(kinds)
        node = "broker" if kind.startswith("broker") else rng.choice(consumers)
        if kind.endswith("kill"):
            return FaultEvent("kill", 0, 0.05, {"nodes": [node]})
        return FaultEvent("pause", 0, pause_s, {"nodes": [node]})

    return FaultLoop(choose, gap=every, seed=seed)


def chaos_run(
    flags: set[str],
    kinds: tuple[str, ...],
    seed: int,
    duration: float = 2.0,
    timeout: float = 0.3,
    work_ms: int = 10,
) -> Result:
    target = QueueTarget()
    options = {**OPTIONS, "work_ms": work_ms}  # a longer work time keeps consumers busy when a pause lands
    with open_cluster(target, nodes=3, backend="local", flags=frozenset(flags), options=options) as cluster:
        cluster.wait_ready(timeout=30)
        h = play(
            cluster,
            target,
            QueueWorkload({"interval_ms": 20}),
            concurrency=3,
            duration=duration,
            seed=seed,
            faults=churn(kinds, seed),
            timeout=timeout,
            final_timeout=max(timeout, 5.0),
        )
    return check(h)


def test_correct_queue_survives_kills_and_pauses() -> None:
    kinds = ("consumer-kill", "consumer-pause", "broker-kill", "broker-pause")
    r = chaos_run(set(), kinds, seed=1, duration=3.0)
    assert r.details["counts"]["sent_ok"] > 50
    assert r.valid is True, r.summary


@pytest.mark.parametrize(
    ("flag", "kinds", "field"),
    [
        ("no-dedup", ("consumer-pause",), "duplicated"),
        ("ack-before-apply", ("consumer-kill",), "lost"),
        ("producer-retry-duplicates", ("broker-pause",), "duplicated"),
    ],
)
def test_planted_bug_is_caught(flag: str, kinds: tuple[str, ...], field: str) -> None:
    # 3 s of churn: 1.5 s missed ack-before-apply once in a loaded CI run (no kill between ack and apply)
    r = chaos_run({flag}, kinds, seed=1, duration=3.0, work_ms=30 if flag == "no-dedup" else 10)
    assert r.valid is False and r.details[field], f"{flag}: no {field} message observed: {r.summary}"


def test_broker_keeps_acknowledged_messages_across_kill_9() -> None:
    target = QueueTarget()
    with open_cluster(target, nodes=1, backend="local", options=OPTIONS) as nodes:
        nodes.wait_ready(timeout=30)
        nodes.pause("c1")  # nothing consumed: everything stays in the broker's log
        client = target.client(nodes.client_addrs, 0, 2.0)
        sent = [client.invoke("send", {"msg": f"m{i}", "account": "a", "amount": 1}) for i in range(20)]
        assert all(o.type == "ok" for o in sent)
        nodes.kill("broker")
        nodes.start("broker")
        nodes.wait_ready(timeout=30)
        nodes.resume("c1")
        effects = client.invoke("read-effects", None)
        client.close()
    assert effects.type == "ok" and sorted(e["msg"] for e in effects.value) == sorted(
        f"m{i}" for i in range(20)
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "leader"], "--role is 'leader'; expected one of broker, consumer, sink"),
        (["--role", "broker", "--flags", "no-fencing"], "unknown flag 'no-fencing'; valid flags:"),
        (["--role", "consumer", "--broker", "127.0.0.1:1"], "a consumer needs --sink HOST:PORT"),
        (["--role", "broker", "--listen", "nowhere"], "--listen is 'nowhere'; expected HOST:PORT"),
        (
            ["--role", "consumer", "--broker", "h:1", "--sink", "h:2", "--option", "lease_ms=x"],
            "--option lease_ms='x': expected an integer",
        ),
    ],
)
def test_bad_configuration_stops_the_node_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    base = ["--name", "x", "--listen", "127.0.0.1:1", "--data-dir", str(tmp_path)]
    proc = subprocess.run(
        [sys.executable, "-m", "chaos_targets.queue.node", *base, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("queue node: error: ") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_corrupt_journal_stops_the_broker(tmp_path: Path) -> None:
    (tmp_path / "broker.journal").write_text('{"t":"enq"}\nnot json\n{"t":"ack","id":"x"}\n')
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaos_targets.queue.node",
            "--role",
            "broker",
            "--name",
            "broker",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--data-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 3 and "broker.journal:2: corrupt record" in proc.stderr
