"""The examples' clients against real servers started by hand on loopback from their own declarations.

No harness platform here: each test renders the declaration's node specs with direct loopback addresses (as
the docker backend would give, with ports), starts the processes, and checks what the clients record: ok
values, cas mismatches, the node that served each call, refused connections as ``fail`` and stalls (a paused
server) as ``info`` for writes and ``fail`` for reads. Needs etcd, redis-server and PostgreSQL 15 on the host
(``scripts/setup`` installs the first two; PostgreSQL is preinstalled on these machines).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.declare import load_target
from harness.target import Addr, ClientContext, NodeContext

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
READ = ("read", {"key": "k1", "value": None})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Servers:
    def __init__(
        self, procs: dict[str, subprocess.Popen[bytes]], addrs: dict[str, Addr], target: Any
    ) -> None:
        self.procs, self.addrs, self.target = procs, addrs, target

    def client(
        self,
        process: int = 0,
        flags: frozenset[str] = frozenset(),
        timeout: float = 1.0,
        options: dict[str, Any] | None = None,
    ) -> Any:
        ctx = ClientContext(flags=flags, options=options or {}, nodes=tuple(self.addrs), timeout=timeout)
        return self.target.client(self.addrs, process, timeout, context=ctx)

    def signal(self, node: str, sig: int) -> None:
        os.killpg(self.procs[node].pid, sig)

    def signal_tree(self, node: str, sig: int) -> None:
        """Signal the node's process and every descendant: PostgreSQL backends lead process groups of
        their own, so a group signal does not reach them."""
        for pid in descendants(self.procs[node].pid):
            os.kill(pid, sig)


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _ready(spec: Any, addr: Addr) -> bool:
    if spec.ready is not None and spec.ready.kind == "command":
        return subprocess.run(spec.ready.argv, capture_output=True).returncode == 0
    try:
        with socket.create_connection((addr.host, addr.port), timeout=0.5):
            return spec.ready is None or spec.ready.kind == "tcp" or _http_ok(addr, spec.ready.path)
    except OSError:
        return False


def _http_ok(addr: Addr, path: str) -> bool:
    import requests

    try:
        return requests.get(f"http://{addr.host}:{addr.port}{path}", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def servers(name: str, nodes: int, tmp: Path, flags: frozenset[str] = frozenset()) -> Iterator[Servers]:
    target = load_target(ROOT / "examples" / name / "target.yaml")
    names = tuple(f"n{i}" for i in range(1, nodes + 1))
    ports = {n: {p: free_port() for p in target.ports} for n in names}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    specs = {}
    # PostgreSQL runs as the postgres user when started as root: its data must be reachable by that user,
    # and pytest's own temporary directories are private to root.
    tmp = Path(tempfile.mkdtemp(prefix=f"chaos-{name}-"))
    tmp.chmod(0o755)
    try:
        for n in names:
            peer_addrs = {m: {p: Addr("127.0.0.1", v) for p, v in ports[m].items()} for m in names if m != n}
            first = next(iter(target.ports))
            ctx = NodeContext(
                n,
                names,
                Addr("127.0.0.1", ports[n][first]),
                {},
                str(tmp / n),
                flags,
                host="127.0.0.1",
                ports=ports[n],
                peer_addrs=peer_addrs,
                backend="docker",
            )
            spec = specs[n] = target.node_spec(ctx)
            (tmp / n).mkdir()
            log = open(tmp / f"{n}.log", "wb")  # noqa: SIM115 - closed with the process
            procs[n] = subprocess.Popen(
                spec.argv,
                env={**os.environ, **spec.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        addrs = {n: Addr("127.0.0.1", ports[n][next(iter(target.ports))]) for n in names}
        deadline = time.monotonic() + 60
        for n in names:
            while not _ready(specs[n], addrs[n]):
                assert procs[n].poll() is None, (tmp / f"{n}.log").read_text()[-2000:]
                assert time.monotonic() < deadline, (
                    f"{name} {n} not ready: {(tmp / f'{n}.log').read_text()[-2000:]}"
                )
                time.sleep(0.2)
        yield Servers(procs, addrs, target)
    finally:
        for p in procs.values():
            try:
                os.killpg(p.pid, signal.SIGCONT)
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def eventually(condition: Any, within: float = 10.0) -> bool:
    """True as soon as ``condition()`` is; False if it never was within ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def need(binary: str) -> None:
    if shutil.which(binary) is None and not Path(binary).exists():
        pytest.fail(f"{binary} not found: scripts/setup installs it", pytrace=False)


def test_etcd_client_records_values_mismatches_nodes_and_refusals(tmp_path: Path) -> None:
    need("etcd")
    with servers("etcd", 3, tmp_path) as s:
        c = s.client(process=1)
        assert c.invoke("write", {"key": "k1", "value": 3}).type == "ok"
        out = c.invoke(*READ)
        assert (out.type, out.value, out.node) == ("ok", {"key": "k1", "value": 3}, "n2")
        assert c.invoke("cas", {"key": "k1", "from": 3, "to": 4}).type == "ok"
        miss = c.invoke("cas", {"key": "k1", "from": 3, "to": 5})
        assert (miss.type, miss.error) == ("fail", "mismatch")
        assert c.invoke("read", {"key": "k9", "value": None}).value == {"key": "k9", "value": None}
        serial = s.client(process=2, flags=frozenset({"serializable-reads"}))
        # a serializable read is served by the member asked, which may not have applied the cas yet
        assert serial.serializable
        assert eventually(lambda: serial.invoke(*READ).value == {"key": "k1", "value": 4})
        assert {serial.invoke(*READ).node for _ in range(3)} == {
            "n1",
            "n2",
            "n3",
        }  # reads spread over members
        assert {serial.invoke("write", {"key": "k2", "value": 1}).node for _ in range(3)} == {"n3"}
        s.signal("n3", signal.SIGKILL)
        s.procs["n3"].wait(10)
        down = s.client(process=2).invoke("write", {"key": "k1", "value": 1})
        assert (down.type, down.node) == ("fail", "n3") and "NewConnectionError" in (down.error or "")


def test_redis_client_primary_replicas_refusal_and_stall(tmp_path: Path) -> None:
    need("redis-server")
    with servers("redis", 3, tmp_path) as s:
        c = s.client(process=0)
        assert c.invoke("write", {"key": "k1", "value": 3}).type == "ok"
        assert c.invoke("cas", {"key": "k1", "from": 3, "to": 4}).type == "ok"
        assert c.invoke("cas", {"key": "k1", "from": 3, "to": 4}).error == "mismatch"
        assert c.invoke(*READ).node == "n1"
        replica = s.client(process=1, flags=frozenset({"replica-reads"}))
        for _ in range(50):  # the replica catches up asynchronously
            out = replica.invoke(*READ)
            if out.value == {"key": "k1", "value": 4}:
                break
            time.sleep(0.1)
        assert (out.type, out.value, out.node) == ("ok", {"key": "k1", "value": 4}, "n3")
        assert replica.invoke("write", {"key": "k1", "value": 1}).node == "n1"  # writes stay on the primary
        s.signal("n1", signal.SIGSTOP)
        stalled = c.invoke("write", {"key": "k1", "value": 2})
        assert stalled.type == "info" and "timed out" in (stalled.error or "")
        assert s.client(process=0).invoke(*READ).type == "fail"  # a read that got no answer changed nothing
        s.signal("n1", signal.SIGCONT)
        s.signal("n1", signal.SIGKILL)
        s.procs["n1"].wait(10)
        refused = s.client(process=0).invoke("write", {"key": "k1", "value": 2})
        assert refused.type == "fail" and "ConnectionRefused" in (refused.error or "")


def test_postgres_client_primary_replica_stall_and_txn_routing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("/usr/lib/postgresql/15/bin/postgres")
    import chaos_examples.postgres.client as pgc
    from harness.target import Completion

    with servers("postgres", 2, tmp_path) as s:
        c = s.client(process=0, timeout=2.0)
        assert c.invoke("write", {"key": "k1", "value": 3}).type == "ok"
        assert c.invoke("cas", {"key": "k1", "from": 3, "to": 4}).type == "ok"
        assert c.invoke("cas", {"key": "k1", "from": 3, "to": 4}).error == "mismatch"
        replica = s.client(process=0, flags=frozenset({"replica-reads"}), timeout=2.0)
        for _ in range(50):
            out = replica.invoke(*READ)
            if out.value == {"key": "k1", "value": 4}:
                break
            time.sleep(0.1)
        assert (out.type, out.value, out.node) == ("ok", {"key": "k1", "value": 4}, "n2")
        calls: list[tuple[Any, Any, str]] = []
        monkeypatch.setattr(
            pgc,
            "_txn_runner",
            lambda: lambda conn, ops, iso: calls.append((conn, ops, iso)) or Completion("ok", ops),
        )
        out = c.invoke("txn", [["append", 1, 5]])
        assert (out.type, out.node) == ("ok", "n1") and calls[0][1:] == ([["append", 1, 5]], "serializable")
        monkeypatch.setattr(pgc, "_txn_runner", lambda: None)
        assert c.invoke("txn", [["append", 1, 6]]).error == "txn unsupported"
        s.signal_tree("n1", signal.SIGSTOP)
        t0 = time.monotonic()
        stalled = c.invoke("write", {"key": "k1", "value": 5})
        assert (
            stalled.type == "info" and time.monotonic() - t0 < 5
        )  # the watchdog ended the stalled statement
        s.signal_tree("n1", signal.SIGCONT)


def test_postgres_txn_creates_its_schema_records_the_node_and_fails_honestly(tmp_path: Path) -> None:
    need("/usr/lib/postgresql/15/bin/postgres")
    with servers("postgres", 2, tmp_path) as s:
        with pytest.raises(ValueError, match="options.isolation"):
            s.client(process=0, options={"isolation": "snapshot"})
        c = s.client(process=0, timeout=2.0, options={"isolation": "repeatable read"})
        # a transaction as the very first op: the client creates the txn tables (no kv op came first)
        out = c.invoke("txn", [["append", 1, 5], ["r", 1, None]])
        assert (out.type, out.value, out.node) == ("ok", [["append", 1, 5], ["r", 1, [5]]], "n1")
        other = s.client(process=1, timeout=2.0)
        seen = other.invoke("txn", [["r", 1, None], ["append", 2, 6]])
        assert seen.value == [["r", 1, [5]], ["append", 2, 6]]
        s.signal("n1", signal.SIGKILL)
        s.procs["n1"].wait(10)
        # the session died with the server: the transaction cannot have begun, and the next attempt finds
        # nothing listening (refused before anything was sent): both fail, never info
        lost = c.invoke("txn", [["append", 1, 7]])
        refused = c.invoke("txn", [["append", 1, 8]])
        assert (lost.type, lost.node) == ("fail", "n1"), lost
        assert refused.type == "fail" and "refused" in (refused.error or ""), refused
        assert "n1" not in c.conns  # dropped: the next op reconnects


def test_txn_is_unsupported_when_the_txn_module_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import chaos_examples.postgres.client as pgc

    # importing it now raises ImportError
    monkeypatch.setitem(sys.modules, "chaos_examples.postgres.txn", None)
    assert pgc._txn_runner() is None
