"""Faked node clocks (libfaketime): the node process sees the offset, strobes flip, reset is real time again;
monotonic time never moves; what libfaketime cannot reach is refused with its reason; the clock kinds' params.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cluster.fakeclock import FakeClocks, _elf_facts, clock_refusal, libfaketime_path
from harness.faults.base import FaultContext, ParamError
from harness.faults.clock import ClockJump, ClockSkew, ClockStrobe
from harness.platform import open_cluster
from harness.target import NodeContext, NodeSpec, Topology

LIB = libfaketime_path()
needs_lib = pytest.mark.skipif(LIB is None, reason="libfaketime is not installed (scripts/setup installs it)")

PROBE = "import sys, time\nfor line in sys.stdin:\n    print(time.time(), time.monotonic(), flush=True)\n"


class Probe:
    """A process started like a node under ``clocks``: asked, it says its wall and monotonic time."""

    def __init__(self, clocks: FakeClocks, node: str) -> None:
        env = {**os.environ, **clocks.env(node)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
        )

    def offset_s(self) -> tuple[float, float]:
        """(its wall clock minus ours, its monotonic clock minus ours), seconds."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        before = time.time()
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        wall, mono = (float(x) for x in self.proc.stdout.readline().split())
        return wall - (before + time.time()) / 2, mono - time.monotonic()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[tuple[FakeClocks, Probe]]:
    assert LIB is not None
    clocks = FakeClocks(tmp_path / "clock", LIB)
    p = Probe(clocks, "n1")
    try:
        yield clocks, p
    finally:
        clocks.reset_all()
        p.close()


@needs_lib
def test_the_node_sees_its_offset_move_while_it_runs_and_monotonic_time_never_moves(
    probe: tuple[FakeClocks, Probe],
) -> None:
    clocks, p = probe
    wall, _ = p.offset_s()
    assert abs(wall) < 1.0
    clocks.set("n1", 5000)
    wall, mono = p.offset_s()
    assert 4.0 < wall < 6.0 and abs(mono) < 1.0
    clocks.set("n1", -3000)
    wall, mono = p.offset_s()
    assert -4.0 < wall < -2.0 and abs(mono) < 1.0
    clocks.reset("n1")
    assert abs(p.offset_s()[0]) < 1.0
    assert clock_refusal([p.proc.pid]) is None  # a dynamically linked program with libfaketime loaded


@needs_lib
def test_a_strobe_flips_between_its_offsets_until_reset(probe: tuple[FakeClocks, Probe]) -> None:
    clocks, p = probe
    clocks.strobe("n1", (0.0, 10_000.0), 50)
    seen = set()
    deadline = time.monotonic() + 20
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.add(round(p.offset_s()[0] / 10))  # 0 or 1 (tens of seconds)
        time.sleep(0.02)
    assert seen == {0, 1}
    clocks.reset("n1")
    for _ in range(5):  # the strobe thread is gone: real time stays
        assert abs(p.offset_s()[0]) < 1.0
        time.sleep(0.06)


def test_what_libfaketime_cannot_reach_is_refused_with_its_reason() -> None:
    plain = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        why = clock_refusal([plain.pid])
        assert why is not None and "has not loaded libfaketime" in why
    finally:
        plain.kill()
        plain.wait()
    assert _elf_facts(os.path.realpath(sys.executable)) == (True, False)
    go = [
        p for p in ("/usr/bin/etcd", str(Path(".chaos/bin/toxiproxy-server").resolve())) if os.path.exists(p)
    ]
    for binary in go:
        assert _elf_facts(binary)[1] is True, binary  # Go: refused even when dynamically linked
    assert clock_refusal([]) == "no process of the node was found to inspect"


class GoTarget:
    """A stand-in target whose node is a Go program (the toxiproxy server): its clock cannot be moved."""

    name = "go-node"

    def topology(self, nodes: int, options: Any) -> Topology:
        return Topology.full_mesh([f"n{i}" for i in range(1, nodes + 1)])

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        binary = str(Path(".chaos/bin/toxiproxy-server").resolve())
        return NodeSpec((binary, "-host", ctx.listen.host, "-port", str(ctx.listen.port)))

    def client(self, nodes: Any, process: int, timeout: float) -> Any:
        return None


@needs_lib
@pytest.mark.skipif(not Path(".chaos/bin/toxiproxy-server").exists(), reason="no toxiproxy-server binary")
def test_a_go_node_loses_the_clock_capability_at_readiness_with_the_reason() -> None:
    with open_cluster(GoTarget(), nodes=1, backend="local", prepare={"clock"}) as cluster:
        assert "clock" in cluster.capabilities  # set up, not yet checked
        cluster.wait_ready(timeout=30)
        assert "clock" not in cluster.capabilities
        assert "is a Go program" in cluster.refusals["clock"] and "node n1" in cluster.refusals["clock"]


CTX = FaultContext(("n1", "n2", "n3"), ())


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        (ClockSkew(), {"nodes": ["n1"], "offset_ms": 86_400_001}, ("offset_ms",)),
        (ClockSkew(), {"nodes": ["n1"], "offset_ms": "5s"}, ("offset_ms",)),
        (ClockSkew(), {"nodes": ["n9"], "offset_ms": 5}, ("nodes", 0)),
        (ClockJump(), {"nodes": ["n1"], "by_ms": float("nan")}, ("by_ms",)),
        (ClockStrobe(), {"nodes": ["n1"], "offsets_ms": [0], "period_ms": 100}, ("offsets_ms",)),
        (ClockStrobe(), {"nodes": ["n1"], "offsets_ms": [0, -1e9], "period_ms": 100}, ("offsets_ms", 1)),
        (ClockStrobe(), {"nodes": ["n1"], "offsets_ms": [0, 10], "period_ms": 5}, ("period_ms",)),
    ],
)
def test_clock_params_are_checked_with_their_field(
    kind: Any, params: dict[str, Any], field: tuple[Any, ...]
) -> None:
    with pytest.raises(ParamError) as e:
        kind.validate(params, CTX)
    assert e.value.field == field


class FakeBackend:
    def __init__(self) -> None:
        self.offsets: dict[str, float] = {}
        self.strobes: dict[str, tuple[tuple[float, float], float]] = {}

    def set_clock(self, node: str, offset_ms: float) -> None:
        self.offsets[node] = offset_ms

    def clock_offset(self, node: str) -> float:
        return self.offsets.get(node, 0.0)

    def strobe_clock(self, node: str, offsets_ms: tuple[float, float], period_ms: float) -> None:
        self.strobes[node] = (offsets_ms, period_ms)

    def reset_clock(self, node: str) -> None:
        self.offsets[node] = 0.0
        self.strobes.pop(node, None)


class FakeCluster:
    def __init__(self) -> None:
        self.backend = FakeBackend()
        self.capabilities = frozenset({"clock"})


def test_kinds_apply_record_and_heal_through_clock_control() -> None:
    c = FakeCluster()
    skew = {"nodes": ["n1", "n2"], "offset_ms": 2500}
    assert ClockSkew().start(c, skew) == {"offsets_ms": {"n1": 2500.0, "n2": 2500.0}}
    assert ClockJump().start(c, {"nodes": ["n1"], "by_ms": -500}) == {"offsets_ms": {"n1": 2000.0}}
    ClockSkew().stop(c, skew)
    assert c.backend.offsets == {"n1": 0.0, "n2": 0.0}
    strobe = {"nodes": ["n3"], "offsets_ms": [0, 800], "period_ms": 100}
    ClockStrobe().start(c, strobe)
    assert c.backend.strobes == {"n3": ((0.0, 800.0), 100.0)}
    ClockStrobe().stop(c, strobe)
    assert c.backend.strobes == {} and c.backend.offsets["n3"] == 0.0
    assert list(ClockSkew().smaller(skew, CTX)) == [
        {"nodes": ["n2"], "offset_ms": 2500},
        {"nodes": ["n1"], "offset_ms": 2500},
        {"nodes": ["n1", "n2"], "offset_ms": 1250.0},
    ]
