"""Every bundled and example client records ``fail`` exactly when the request certainly did not take effect
(issue 22 point 6): a refused connection (nothing was sent) is ``fail``; a connection accepted and then
closed without an answer -- what a proxy in front of a dead node does -- leaves a state-changing request's
outcome unknown (``info``) once it may have been sent; a read never needs ``info`` (it has no effect).

No real servers: a port nothing listens on, and a listener that accepts and closes at once. The examples'
behaviour against real servers (mismatches, stalls) is in tests/integration/test_example_clients.py.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.declare import load_target
from harness.registry import Registries
from harness.target import Addr, ClientContext, make_client

ROOT = Path(__file__).resolve().parents[3]
# target -> a state-changing op, a read (None: the target has none the workers issue), ports its client dials
CASES: dict[str, tuple[tuple[str, Any], tuple[str, Any] | None]] = {
    "kv": (("write", {"key": "k", "value": 1}), ("read", {"key": "k", "value": None})),
    "queue": (("send", {"msg": "m1", "account": "a", "amount": 1}), None),
    "lock": (("acquire", {"lock": "L"}), None),
    "echo": (("echo", ["n1", 1]), None),
    "etcd": (("write", {"key": "k", "value": 1}), ("read", {"key": "k", "value": None})),
    "redis": (("write", {"key": "k", "value": 1}), ("read", {"key": "k", "value": None})),
    "postgres": (("write", {"key": "k", "value": 1}), ("read", {"key": "k", "value": None})),
}
EXAMPLES = ("etcd", "redis", "postgres")


def _target(name: str) -> Any:
    if name in EXAMPLES:
        return load_target(ROOT / "examples" / name / "target.yaml")
    return Registries().target(name)


@contextmanager
def _client(name: str, addr: Addr) -> Iterator[Any]:
    """A client of ``name`` whose every node is at ``addr``; closed afterwards."""
    target = _target(name)
    topology = target.topology(3, {})
    nodes = tuple(topology.client_nodes)
    ports = getattr(target, "ports", None) or {"client": 0}
    named = {n: {p: addr for p in ports} for n in nodes}
    ctx = ClientContext(nodes=tuple(topology.nodes), addrs=named, timeout=1.0)
    client = make_client(target, {n: addr for n in nodes}, 0, 1.0, ctx)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def refused() -> Addr:
    with socket.socket() as s:  # bound, never listening: every connect is refused
        s.bind(("127.0.0.1", 0))
        yield Addr("127.0.0.1", s.getsockname()[1])


@pytest.fixture
def hangs_up() -> Iterator[Addr]:
    """A listener that accepts each connection, reads what comes, and closes without a word."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.3)
                try:
                    conn.recv(65536)
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield Addr("127.0.0.1", srv.getsockname()[1])
    finally:
        stop.set()
        t.join()
        srv.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_refused_connection_is_fail(name: str, refused: Addr) -> None:
    change, read = CASES[name]
    with _client(name, refused) as client:
        for f, value in (change, read) if read else (change,):
            got = client.invoke(f, value)
            assert got.type == "fail", (name, f, got)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hang_up_after_sending_is_never_a_false_fail(name: str, hangs_up: Addr) -> None:
    change, read = CASES[name]
    with _client(name, hangs_up) as client:
        got = client.invoke(*change)
        # Two clients speak before their request: PostgreSQL's sends its statement only after the server's
        # handshake, the queue's producer sends a read-only hello first to learn the broker's flags; neither
        # answer comes, so the request was certainly never sent (fail). Every other client has sent it: the
        # outcome is unknown.
        handshake_first = name in ("postgres", "queue")
        assert got.type == ("fail" if handshake_first else "info"), (name, got)
        if read:
            assert client.invoke(*read).type in ("fail", "info")
