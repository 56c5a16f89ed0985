"""The ``local`` backend: nodes and Toxiproxy are subprocesses listening on 127.0.0.1, nothing else.

It needs no Docker at all. kill = SIGKILL, pause = SIGSTOP, resume = SIGCONT, stop = SIGTERM (then SIGKILL),
each sent to the node's whole process group and every descendant (a node that is a shell script, forks
workers, or whose workers start their own sessions, as PostgreSQL's backends do, is hit whole).
Each node runs ``target.node_spec(ctx).argv`` (``python3`` replaced by this interpreter) with the project root
as its working directory, its output appended to ``.chaos/runs/<run>/logs/<node>.log``, in its own session
(so its own process group; a terminal's Ctrl-C reaches only the runner, which then cleans up in order). Every
named port of every node is a free loopback port (or consecutive from ``base_port``); the node's data
directory exists before it starts. Every pid is recorded in the run directory so ``chaos clean`` can find
leftovers of a runner killed outright (and kills their groups).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from harness.cluster.abilities import HostAbilities
from harness.cluster.base import NodeAddrs, Placement, ProxyHosts
from harness.cluster.disklayer import CORRUPT, DISK, LayerProcess
from harness.cluster.fakeclock import CLOCK, FakeClocks, clock_refusal, libfaketime_path
from harness.cluster.rundir import RUN_ENV, RunDir, descendants, project_root
from harness.cluster.toxiproxy_server import LocalToxiproxy
from harness.errors import InfrastructureError
from harness.interrupts import shielded
from harness.names import LOCAL
from harness.target import Addr, NodeContext, NodeSpec

HOST = "127.0.0.1"
STOP_GRACE = 5.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def check_port_free(port: int, why: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise InfrastructureError(
                    f"port {HOST}:{port} is already in use ({why}); "
                    "choose another base_port or stop what holds it"
                ) from None
            raise InfrastructureError(f"cannot bind {HOST}:{port} ({why}): {e.strerror}") from None
    return port


class LocalBackend(HostAbilities):
    """Subprocesses on loopback; ``base_port``: consecutive fixed ports from there instead of free ones."""

    name = LOCAL
    placement = Placement()  # loopback, ports allocated when the run starts, no images

    def __init__(self, run: RunDir, base_port: int | None = None) -> None:
        if base_port is not None and not 1024 <= base_port <= 65000:
            raise InfrastructureError(f"base_port {base_port}: expected a port between 1024 and 65000")
        self.run = run
        self.base_port = base_port
        self._next = 0
        self._handed: set[int] = set()
        self._toxiproxy: LocalToxiproxy | None = None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._specs: dict[str, tuple[NodeContext, NodeSpec]] = {}
        self._addrs: dict[str, dict[str, Addr]] = {}
        self.data_root = str(run.path / "data")
        self._init_abilities()
        self._disk = False

    def _port(self, why: str) -> int:
        """A port for ``why``, never one this run handed out before. Without ``base_port`` the kernel picks
        a free one; a port it gave back (bound, then closed) may come again before its first owner binds it,
        and two nodes (or a node and a proxy) on one port answer for each other."""
        if self.base_port is None:
            while True:
                port = free_port()
                if port not in self._handed:
                    self._handed.add(port)
                    return port
        port = self.base_port + self._next
        self._next += 1
        return check_port_free(port, f"{why}, base_port={self.base_port}")

    def start_toxiproxy(self) -> Addr:
        self._toxiproxy = LocalToxiproxy(self.run, self._port("toxiproxy API"))
        return self._toxiproxy.addr

    def proxy_hosts(self) -> ProxyHosts:
        return ProxyHosts(HOST, HOST, HOST)

    def proxy_port(self, index: int) -> int:
        return self._port(f"proxy {index}")  # chosen here too: a proxy Toxiproxy placed could take a node's

    def node_addrs(self, node: str, ports: Mapping[str, int] | None = None) -> NodeAddrs:
        names = list(ports or {"client": 0})
        addrs = {name: Addr(HOST, self._port(f"node {node} port {name}")) for name in names}
        self._addrs[node] = addrs
        first = addrs[names[0]]
        return NodeAddrs(
            first,
            first,
            host=HOST,
            ports={n: a.port for n, a in addrs.items()},
            upstreams=addrs,
            direct=addrs,
            client_direct=addrs,
        )

    def direct_addr(self, node: str, port: str | None = None) -> Addr:
        addrs = self._addrs[node]
        return addrs[port] if port is not None else next(iter(addrs.values()))

    def run_command(self, node: str, argv: tuple[str, ...], env: Mapping[str, str], timeout: float) -> int:
        cmd = list(argv)
        if cmd and cmd[0] in ("python3", "python"):
            cmd[0] = sys.executable
        try:
            return subprocess.run(
                cmd,
                cwd=project_root(),
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                start_new_session=True,
            ).returncode
        except subprocess.TimeoutExpired:
            return 124
        except OSError:
            return 127

    def start_node(self, ctx: NodeContext, spec: NodeSpec) -> None:
        if ctx.listen.host != HOST:
            raise InfrastructureError(
                f"node {ctx.node}: the local backend binds only {HOST}, not {ctx.listen.host}"
            )
        self._specs[ctx.node] = (ctx, spec)
        Path(ctx.data_dir).mkdir(parents=True, exist_ok=True)
        if self._disk:  # the data directory is the layer's mount; its files live in disk/<node>
            with shielded():
                self._layers[ctx.node] = LayerProcess(
                    self.run, ctx.node, self.run.path / "disk" / ctx.node, Path(ctx.data_dir)
                )
        self.start(ctx.node)

    def start(self, node: str) -> None:
        if self.running(node):
            return
        ctx, spec = self._specs[node]
        argv = list(spec.argv)
        if argv and argv[0] in ("python3", "python"):
            argv[0] = sys.executable
        env = {**os.environ, **spec.env, RUN_ENV: self.run.run_id, "PYTHONUNBUFFERED": "1"}
        if self._clocks is not None:
            env.update(self._clocks.env(node))
        Path(ctx.data_dir).mkdir(parents=True, exist_ok=True)
        with shielded(), open(self.run.log_file(node), "ab") as log:  # started means recorded
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=project_root(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,
                )
            except OSError as e:  # a missing or non-executable program: one line, not FileNotFoundError
                program = argv[0] if argv else "(no command)"
                raise InfrastructureError(
                    f"node {node}: cannot start {program!r} on the local backend: "
                    f"{(e.strerror or str(e)).lower()}; install it or put it on PATH, or use --backend docker"
                ) from None
            self._procs[node] = proc
            self.run.record_pid(node, proc.pid)

    def _signal(self, node: str, sig: int) -> None:
        proc = self._procs.get(node)
        if proc is None:
            return
        # every descendant too, found before signalling: a child that made itself a session leader (PostgreSQL
        # backends call setsid) has left the group but must still freeze or die with its node
        tree = descendants(proc.pid) if proc.poll() is None else []
        try:
            # the node leads its own session and group (start_new_session), so its children are hit too;
            # after the leader exited, survivors of its group are still signalled until the group is empty
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in tree:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def running(self, node: str) -> bool:
        proc = self._procs.get(node)
        return proc is not None and proc.poll() is None

    def states(self) -> dict[str, str]:
        """Every node's state: running, paused (stopped by a signal) or down."""
        out = {}
        for node in self._specs:
            proc = self._procs.get(node)
            if proc is None or proc.poll() is not None:
                out[node] = "down"
                continue
            try:
                stat = Path(f"/proc/{proc.pid}/stat").read_text()
                out[node] = "paused" if stat[stat.rfind(")") + 2 :].split()[0] in ("T", "t") else "running"
            except (OSError, IndexError):
                out[node] = "down"
        return out

    def kill(self, node: str) -> None:
        self._signal(node, signal.SIGKILL)
        self._signal(node, signal.SIGCONT)
        self._reap(node, 5.0)

    def stop(self, node: str) -> None:
        self._signal(node, signal.SIGCONT)
        self._signal(node, signal.SIGTERM)
        if not self._reap(node, STOP_GRACE):
            self.kill(node)

    def _reap(self, node: str, timeout: float) -> bool:
        proc = self._procs.get(node)
        if proc is None:
            return True
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        self.run.forget_pid(node)
        return True

    def pause(self, node: str) -> None:
        self._signal(node, signal.SIGSTOP)

    def resume(self, node: str) -> None:
        self._signal(node, signal.SIGCONT)

    def exit_code(self, node: str) -> int | None:
        proc = self._procs.get(node)
        return None if proc is None else proc.poll()

    def logs(self) -> dict[str, str]:
        out = {}
        for node in self._specs:
            path = self.run.log_file(node)
            out[node] = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return out

    # prepared abilities (harness.cluster.prepare): a faked clock per node

    def prepare(self, abilities: frozenset[str]) -> None:
        if DISK in abilities:
            self._disk = self._prepare_disk()
        if CLOCK in abilities:
            lib = libfaketime_path()
            if lib is None:
                self._why[CLOCK] = "libfaketime is not installed (scripts/setup installs it from Debian)"
            else:
                self._clocks = FakeClocks(self.run.path / "clock", lib)

    def prepared(self) -> frozenset[str]:
        """What this run's nodes were set up for; files of a stopped node are always at hand (corrupt)."""
        out = {CORRUPT}
        if self._clocks is not None:
            out.add(CLOCK)
        if self._disk:
            out.add(DISK)
        return frozenset(out)

    def refusal(self, ability: str, node: str) -> str | None:
        proc = self._procs.get(node)
        if ability != CLOCK or proc is None:
            return None
        return clock_refusal([proc.pid, *descendants(proc.pid)])

    def data_files(self, node: str) -> Path:
        if node in self._layers:
            return self.run.path / "disk" / node  # the backing files (the mount may be powered off)
        return Path(self._specs[node][0].data_dir)

    def close(self) -> None:
        self._close_abilities()
        for node in list(self._procs):
            try:
                self.kill(node)
            except Exception:  # noqa: BLE001 - cleanup must go on for the other nodes
                pass
        self._unmount_layers()  # after the nodes: nothing holds the mounts any more
        if self._toxiproxy is not None:
            try:
                self._toxiproxy.stop()
            except Exception:  # noqa: BLE001
                pass
            self._toxiproxy = None
        self.run.kill_recorded()
        deadline = time.monotonic() + 5
        while self.run.live_pids() and time.monotonic() < deadline:
            time.sleep(0.02)
