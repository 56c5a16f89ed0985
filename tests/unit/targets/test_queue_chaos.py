"""End-to-end queue runs on local processes (no Docker, no proxies): the correct design loses and duplicates
nothing under consumer kills and pauses past the lease and broker kill -9 / pause, and each planted bug is
caught; bad node configuration stops a node at start with a one-line message."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.checkers.base import Result
from harness.checkers.exactly_once import check
from targets.queue.localrun import ROOT, LocalNodes, free_port
from targets.queue.scenario import Nemesis, run
from targets.queue.target import QueueTarget
from targets.queue.workload import QueueWorkload

OPTIONS = {"lease_ms": 250, "work_ms": 10, "idle_ms": 10, "rpc_timeout_ms": 1000}


def churn(
    kinds: tuple[str, ...], pause_s: float = 0.6, every: tuple[float, float] = (0.1, 0.25)
) -> Callable[[LocalNodes, random.Random, threading.Event, Nemesis], None]:
    """Seeded fault loop over ``kinds`` (consumer-kill, consumer-pause, broker-kill, broker-pause)."""

    def fault(nodes: LocalNodes, rng: random.Random, stop: threading.Event, nem: Nemesis) -> None:
        consumers = [n for n in nodes.topology.nodes if n.startswith("c")]
        while not stop.wait(rng.uniform(*every)):
            kind = rng.choice(kinds)
            node = "broker" if kind.startswith("broker") else rng.choice(consumers)
            if kind.endswith("kill"):
                nem.start("kill", [node])
                nodes.kill(node)
                time.sleep(0.05)
                nodes.start(node)
                nem.stop("kill", [node])
            else:
                nem.start("pause", [node])
                nodes.pause(node)
                time.sleep(pause_s)
                nodes.resume(node)
                nem.stop("pause", [node])

    return fault


def chaos_run(
    tmp: Path,
    flags: set[str],
    kinds: tuple[str, ...],
    seed: int,
    duration: float = 2.0,
    timeout: float = 0.3,
    work_ms: int = 10,
) -> Result:
    target = QueueTarget()
    options = {**OPTIONS, "work_ms": work_ms}  # a longer work time keeps consumers busy when a pause lands
    with LocalNodes(target, 3, str(tmp / f"run{seed}"), frozenset(flags), options) as nodes:
        nodes.start_all()
        h = run(
            target,
            QueueWorkload({"interval_ms": 20}),
            nodes,
            workers=3,
            duration=duration,
            seed=seed,
            fault=churn(kinds),
            timeout=timeout,
        )
    return check(h)


def test_correct_queue_survives_kills_and_pauses(tmp_path: Path) -> None:
    kinds = ("consumer-kill", "consumer-pause", "broker-kill", "broker-pause")
    r = chaos_run(tmp_path, set(), kinds, seed=1, duration=3.0)
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
def test_planted_bug_is_caught(tmp_path: Path, flag: str, kinds: tuple[str, ...], field: str) -> None:
    r = chaos_run(tmp_path, {flag}, kinds, seed=1, duration=1.5, work_ms=30 if flag == "no-dedup" else 10)
    assert r.valid is False and r.details[field], f"{flag}: no {field} message observed: {r.summary}"


def test_broker_keeps_acknowledged_messages_across_kill_9(tmp_path: Path) -> None:
    target = QueueTarget()
    with LocalNodes(target, 1, str(tmp_path), options=OPTIONS) as nodes:
        nodes.start_all()
        nodes.pause("c1")  # nothing consumed: everything stays in the broker's log
        client = target.client(nodes.client_addrs, 0, 2.0)
        sent = [client.invoke("send", {"msg": f"m{i}", "account": "a", "amount": 1}) for i in range(20)]
        assert all(o.type == "ok" for o in sent)
        nodes.kill("broker")
        nodes.start("broker")
        nodes.wait_ready()
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
        [sys.executable, "-m", "targets.queue.node", *base, *args],
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
            "targets.queue.node",
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
