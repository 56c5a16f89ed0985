"""In-memory stand-ins for a target, a workload, a checker and a cluster, so the runner, the schedule, the
shrinker and the CLI are tested without processes, Docker or Toxiproxy.

The fake register store has one planted bug, ``stale-read``: while any partition is in force, reads return the
marker ``"STALE"``, which the ``no-stale`` checker flags. The bug therefore shows only under a partition,
which is what the shrinking tests need (kills and pauses are irrelevant to it). A second planted bug,
``dead-reads``, makes every read fail (the node answers nothing): a history that proves nothing about reads.
The workload option ``crash_after: N`` makes each worker's plan raise after N ops: a worker crash, not an op
failure (``boom`` is the op failure: the client raises inside the call, recorded as ``info``).
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.checkers.base import Result
from harness.faults.link import Link
from harness.faults.partition import Partition
from harness.faults.process import Kill, Pause, Restart
from harness.history import History
from harness.net.fake import FakeNet
from harness.registry import Registries
from harness.target import Addr, ClientContext, Completion, NodeContext, NodeSpec, Topology


class Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: dict[str, Any] = {}
        self.net: FakeNet | None = None
        self.flags: frozenset[str] = frozenset()
        self.down: set[str] = set()


class FakeClient:
    def __init__(self, store: Store) -> None:
        self.store = store

    def invoke(self, f: str, value: Any) -> Completion:
        s = self.store
        if f == "boom":
            raise RuntimeError("client exploded")
        with s.lock:
            if f == "read":
                if "dead-reads" in s.flags:
                    return Completion("fail", None, "no node answered")
                if "stale-read" in s.flags and s.net is not None and s.net.grudge:
                    return Completion("ok", {"key": value["key"], "value": "STALE"})
                return Completion("ok", {"key": value["key"], "value": s.data.get(value["key"])})
            if f == "write":
                s.data[value["key"]] = value["value"]
                return Completion("ok", value)
        return Completion("info", None, "unknown op")

    def close(self) -> None:
        pass


class FakeTarget:
    name = "fake"
    planted_bugs = frozenset({"stale-read", "dead-reads"})

    def __init__(self, store: Store) -> None:
        self.store = store

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        if options.get("explode"):
            raise ValueError("option explode is not supported")
        return Topology.full_mesh([f"n{i}" for i in range(1, nodes + 1)])

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        return NodeSpec(("python3", "-c", "pass"))

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> FakeClient:
        return FakeClient(self.store)


class FakePlan:
    def __init__(self, rng: random.Random, opts: Mapping[str, Any]) -> None:
        self.rng, self.opts = rng, opts
        self.n = 0

    def next(self, last: Any) -> tuple[str, Any] | None:
        self.n += 1
        if "crash_after" in self.opts and self.n > int(self.opts["crash_after"]):
            raise RuntimeError("plan exploded")
        key = f"k{self.rng.randrange(int(self.opts.get('keys', 2)))}"
        if self.opts.get("boom") and self.rng.random() < 0.2:
            return "boom", {"key": key}
        if self.rng.random() < float(self.opts.get("read", 0.5)):
            return "read", {"key": key, "value": None}
        return "write", {"key": key, "value": self.rng.randrange(100)}


class FakeWorkload:
    name = "fake"

    def __init__(self, options: Mapping[str, Any]) -> None:
        if "bogus" in options:
            raise ValueError("unknown option bogus; valid: keys, read, boom, crash_after")
        self.options = dict(options)

    def plan(self, process: int, rng: Any) -> FakePlan:
        return FakePlan(rng, self.options)

    def final_ops(self) -> Sequence[tuple[str, Any]]:
        return [("read", {"key": "k0", "value": None})]

    def checkers(self) -> Mapping[str, Mapping[str, Any]]:
        return {"no-stale": {}}


def no_stale(history: History, **options: Any) -> Result:
    stale = [
        p.invoke.index for p in history.pairs() if p.type == "ok" and (p.value or {}).get("value") == "STALE"
    ]
    if stale:
        return Result("no-stale", False, f"{len(stale)} stale reads", {"ops": stale[:10]})
    return Result("no-stale", True, "no stale reads")


def slow_checker(history: History, **options: Any) -> Result:
    threading.Event().wait(30)
    return Result("slow", True)


class FakeCluster:
    def __init__(
        self, target: FakeTarget, nodes: int, log_dir: str | Path | None, flags: frozenset[str] = frozenset()
    ) -> None:
        topo = target.topology(nodes, {})
        self.nodes = topo.nodes
        self.net = FakeNet(self.nodes)
        self.client_addrs = {n: Addr("127.0.0.1", 1) for n in self.nodes}
        self.capabilities = frozenset({"kill", "restart", "pause", "partition", "link"})
        self.calls: list[tuple[str, str]] = []
        self.log_dir = log_dir
        self.flags = frozenset(flags)
        target.store.net = self.net
        target.store.flags = frozenset(flags)

    def wait_ready(self, timeout: float = 30) -> float:
        return 0.0

    def client_context(self, timeout: float = 5.0) -> ClientContext:
        return ClientContext(self.flags, {}, tuple(self.nodes), timeout=timeout)

    def __getattr__(self, name: str) -> Any:
        if name in ("kill", "restart", "stop", "start", "pause", "resume"):
            return lambda node: self.calls.append((name, node))
        raise AttributeError(name)

    def logs(self) -> dict[str, str]:
        return {n: f"{n} log\n" for n in self.nodes}


class Harness:
    """A store, registries over the fakes, and a cluster factory that remembers its clusters."""

    def __init__(self) -> None:
        self.store = Store()
        self.clusters: list[FakeCluster] = []
        self.registries = Registries.of(
            targets={"fake": lambda: FakeTarget(self.store)},
            workloads={"fake": FakeWorkload},
            checkers={"no-stale": no_stale, "slow": slow_checker},
            faults={"partition": Partition, "link": Link, "kill": Kill, "restart": Restart, "pause": Pause},
        )

    @contextlib.contextmanager
    def open_cluster(
        self,
        target: FakeTarget,
        nodes: int = 3,
        log_dir: Any = None,
        flags: frozenset[str] = frozenset(),
        **kw: Any,
    ) -> Iterator[Any]:
        cluster = FakeCluster(target, nodes, log_dir, flags)
        self.clusters.append(cluster)
        try:
            yield cluster
        finally:
            cluster.net.heal()
            if log_dir is not None:
                for node, text in cluster.logs().items():
                    (Path(log_dir) / f"{node}.log").write_text(text, encoding="utf-8")


BASE = """\
name: fake-exp
seed: 7
expect: valid
target: {name: fake, nodes: 3}
workload: {duration: 1, concurrency: 2, rate: 200}
phases: {warmup: 0.2, cooldown: 0.2, recovery: 0, final: true}
"""
