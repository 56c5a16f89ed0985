"""The ``docker`` backend: the only module that imports the docker SDK.

Per run: one user-defined ``internal`` network ``chaos-<run>`` (no route out) and, per node, two containers
sharing one network namespace: a *sandbox* ``chaos-<run>-<node>-net`` (the base image, ``sleep``, holding the
node's IP, its stable hostname = the node's name as a network alias, and ``NET_ADMIN`` so packet filter rules
can be loaded into that namespace) and the node itself ``chaos-<run>-<node>`` (``--network
container:<sandbox>``, run as ``nobody`` with every capability dropped, from the bundled target image, an
image the user names, or one built from the base image plus Debian packages). Because the namespace belongs to
the sandbox, a killed and restarted node keeps its address and the rules in force. A Toxiproxy container joins
only when the run routes links through proxies. Everything is labelled ``chaos-harness.run=<run>`` plus the
owner record (``harness.cluster.owner``); creation calls are shielded from interrupts so what they made is
recorded, and ``close`` also sweeps by label; removing the run's containers removes its namespaces and so
every rule. The host reaches the containers at their addresses on the run's network (dockerd runs with
``--iptables=false``). Node logs are read before the containers are removed.

Rules are loaded with ``iptables-restore`` (one atomic table per node, nodes in parallel) through the
sandbox's agent (``harness.cluster.agent``: the sandbox's main process, reading rule sets from its attached
stdin); ``CHAOS_RULES_VIA=nsenter`` loads them from the host with ``nsenter`` into the sandbox's namespace
(root and a local engine), ``exec`` with ``docker exec`` in the sandbox, which is also the fallback.

Clock and disk faults (asked for through ``prepare``, a local engine only): a node is started with the host's
libfaketime and its clock offset folder bind-mounted read-only (``CLOCK_DIR``, ``FAKETIME_LIB``; the images
are Debian bookworm like the host, so the host's build fits) and the ``LD_PRELOAD`` environment of
``harness.cluster.fakeclock``; its data directory is bind-mounted from the host, where the disk fault layer
(``harness.cluster.fuselayer``, run on the host with ``allow_other``) is mounted, so the node needs neither
``/dev/fuse`` nor ``CAP_SYS_ADMIN``. The readiness check inspects the container's processes from the host.

``python -m harness.cluster.docker build-image`` builds the target image if its content hash is new;
``build-image --all-declared`` also builds the images (``ImageBuild``) every registered target declares.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from harness.cluster import agent, image
from harness.cluster.abilities import HostAbilities
from harness.cluster.base import NodeAddrs, Placement, ProxyHosts
from harness.cluster.disklayer import CORRUPT, DISK, LayerProcess
from harness.cluster.fakeclock import CLOCK, FakeClocks, clock_refusal, libfaketime_path
from harness.cluster.owner import Owner
from harness.cluster.rundir import LABEL, RunDir, chaos_home, descendants
from harness.cluster.toxiproxy_server import require_toxiproxy
from harness.errors import BadInput, HarnessError, InfrastructureError
from harness.interrupts import shielded
from harness.names import CLIENT, DOCKER
from harness.net import netem
from harness.net.mesh import Mesh
from harness.net.packet import PacketNet
from harness.target import Addr, ImageBuild, NodeContext, NodeSpec, Topology, target_traits

API_PORT = 8474
PROXY_BASE_PORT = 20000
NODE_PORT = 7000
USER = "65534:65534"
FIX = "run scripts/setup (it installs and starts dockerd) or use the local backend"
CLOCK_DIR = "/chaos-clock"  # where a node sees its clock offset file (bind-mounted read-only)
FAKETIME_LIB = "/chaos-faketime/libfaketime.so.1"  # the host's libfaketime, bind-mounted read-only


def client(timeout: int = 30) -> docker.DockerClient:
    try:
        c = docker.from_env(timeout=timeout)
        c.ping()
    except docker.errors.DockerException as e:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        reason = str(e).split("(")[0].strip()[:120]
        raise InfrastructureError(f"no Docker engine reachable at {host} ({reason}); {FIX}") from None
    return c


def docker_reachable() -> bool:
    try:
        client(timeout=3).close()
    except InfrastructureError:
        return False
    return True


def base_image(c: docker.DockerClient) -> Any:
    for name in image.base_candidates():
        with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
            return c.images.get(name)
    raise InfrastructureError(
        f"no base image for the target image (tried {', '.join(image.base_candidates())}); run scripts/setup"
    )


def ensure_image(c: docker.DockerClient) -> str:
    """The target image's tag, building it first when its content hash is new."""
    base = base_image(c)
    toxiproxy = require_toxiproxy()
    tag = f"{image.REPO}:{image.content_hash(base.id, toxiproxy)}"
    with contextlib.suppress(docker.errors.ImageNotFound):
        c.images.get(tag)
        return tag
    try:
        c.images.build(
            fileobj=io.BytesIO(image.build_context(toxiproxy)),
            custom_context=True,
            tag=tag,
            buildargs={"BASE": base.id},
            labels={"chaos-harness.image": "target"},
            rm=True,
            forcerm=True,
        )
    except docker.errors.BuildError as e:
        raise InfrastructureError(f"building {tag} failed: {e.msg}") from None
    return tag


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def build_log_path(tag: str) -> Path:
    """Where the full log of building ``tag`` is written (``CHAOS_HOME/builds/``)."""
    return chaos_home() / "builds" / (tag.replace("/", "_").replace(":", "-") + ".log")


def ensure_node_image(
    c: docker.DockerClient, spec: ImageBuild, say: Callable[[str], None] | None = _say
) -> str:
    """The tag of the image ``spec`` describes, building it (with the host's network) when it is new.

    A build says so: one line when it starts (what and the log's path), one per Dockerfile step (``say``,
    stderr by default; None: silent), the whole output in ``build_log_path(tag)``."""
    base = base_image(c)
    tag = f"{image.NODE_REPO}:{image.build_hash(base.id, spec)}"
    with contextlib.suppress(docker.errors.ImageNotFound):
        c.images.get(tag)
        return tag
    log_path = build_log_path(tag)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    what = ", ".join([*spec.packages, *([f"{len(spec.lines)} more Dockerfile lines"] if spec.lines else [])])
    if say is not None:
        say(f"building image {tag} ({what}); log: {log_path}")
    t0 = time.monotonic()
    error: str | None = None
    tail: list[str] = []
    try:
        with log_path.open("w", encoding="utf-8") as log:
            stream = c.api.build(
                fileobj=io.BytesIO(image.node_dockerfile(spec).encode()),
                tag=tag,
                buildargs={"BASE": base.id},
                labels={"chaos-harness.image": "node"},
                network_mode="host",  # containers have no way out; the build needs Debian's mirror
                rm=True,
                forcerm=True,
                decode=True,
            )
            for chunk in stream:
                text = str(chunk.get("stream") or chunk.get("status") or "")
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    text = error + "\n"
                log.write(text)
                for line in text.splitlines():
                    if line.strip():
                        tail = [*tail[-2:], line.strip()]
                    if say is not None and line.startswith("Step "):
                        say(f"  [{time.monotonic() - t0:5.0f}s] {line.strip()[:160]}")
    except docker.errors.APIError as e:
        raise InfrastructureError(f"building {tag} failed: {e.explanation}; log: {log_path}") from None
    if error is not None:
        raise InfrastructureError(
            f"building {tag} ({what}) failed: {error}: {' | '.join(tail)}; log: {log_path}"
        )
    if say is not None:
        say(f"built image {tag} in {time.monotonic() - t0:.0f}s")
    return tag


def resolve_image(c: docker.DockerClient, wanted: str | ImageBuild | None, default: str) -> str:
    """The image a node runs: the target image (None), a local image by name, or a built one."""
    if wanted is None:
        return default
    if isinstance(wanted, ImageBuild):
        return ensure_node_image(c, wanted)
    try:
        c.images.get(wanted)
    except docker.errors.ImageNotFound:
        raise BadInput(
            f"image {wanted!r}: not found in the local engine (no registry is asked); build or load it "
            "first, or declare image: ImageBuild(packages=...) for the harness to build it"
        ) from None
    return wanted


def nsenter_usable() -> bool:
    """Whether rules can be loaded from the host with nsenter: root, a local engine, the tools on PATH."""
    host = os.environ.get("DOCKER_HOST", "")
    local = not host or host.startswith("unix://")
    return local and os.geteuid() == 0 and all(shutil.which(t) for t in ("nsenter", "iptables-restore"))


class DockerBackend(HostAbilities):
    """Containers on a per-run internal network; see the module docstring. Besides ``Backend`` it implements
    ``Killable``, ``Pausable``, ``NodeStates``, ``Concurrent``, ``NetworkHost`` (``harness.cluster.base``)
    and ``Preparable`` (clock and disk faults, ``harness.cluster.prepare``): its ``build_net`` is packet
    filters in each node's namespace (``PacketNet``)."""

    name = DOCKER
    data_root = "/tmp/chaos-data"
    concurrent_calls = True  # every per-node call is engine round trips: the platform runs them in parallel
    placement = Placement(own_hosts=True, images=True, data_root=data_root)

    @staticmethod
    def available() -> bool:
        """Whether an engine answers (what ``auto`` asks)."""
        return docker_reachable()

    def __init__(self, run: RunDir) -> None:
        self.run = run
        owner = run.owner()  # on every container and network, so any checkout can tell whether it is live
        self.labels = {LABEL: run.run_id, **(owner.labels() if owner is not None else {})}
        self.client = client()
        self._containers: dict[str, Container] = {}
        self._sandboxes: dict[str, Container] = {}
        self._ips: dict[str, str] = {}
        self._ports: dict[str, dict[str, int]] = {}
        self._final_logs: dict[str, str] = {}
        self._toxi: Container | None = None
        self._init_abilities()
        self._faketime_lib = ""
        self._disk = False
        self._host_data = False  # node data directories bind-mounted from the host (disk faults, corrupt)
        via = os.environ.get("CHAOS_RULES_VIA", "")
        if via not in ("", "nsenter", "agent", "exec"):
            self.client.close()
            raise BadInput(
                f"CHAOS_RULES_VIA={via!r}: expected nsenter, agent or exec (or unset: the fastest)"
            )
        # the agent is the default: as fast as nsenter here (both tens of ms for 5 nodes) and it needs neither
        # root nor a local engine; nsenter on request; docker exec is the fallback when neither works
        self.use_nsenter = nsenter_usable() and via == "nsenter"
        self.use_agent = via in ("", "agent")
        self._channels: dict[str, agent.Channel] = {}
        try:
            self.image = ensure_image(self.client)
            self.base = base_image(self.client).id
            with shielded():  # the network exists once created: record it before any interrupt unwinds
                self.network = self.client.networks.create(
                    f"chaos-{run.run_id}", driver="bridge", internal=True, labels=self.labels
                )
        except BaseException:
            with shielded():
                sweep_labelled(self.client, run.run_id)
                self.client.close()
            raise

    def _name(self, what: str) -> str:
        return f"chaos-{self.run.run_id}-{what}"

    def _run(
        self,
        what: str,
        command: list[str],
        extra_labels: dict[str, str],
        *,
        name: str | None = None,
        **kw: Any,
    ) -> Container:
        """Create and start a container; callers record it inside the same shield (see ``start_node``)."""
        kw.setdefault("image", self.image)
        kw.setdefault("user", USER)
        kw.setdefault("cap_drop", ["ALL"])
        if "network_mode" not in kw:
            kw.setdefault("network", self.network.name)
            kw.setdefault("hostname", what)
            # a stopped container's name must fail to resolve fast, not after 10 s (no outside resolver)
            kw.setdefault("dns", ["127.0.0.1"])
            kw.setdefault("dns_opt", ["timeout:1", "attempts:1"])
        cname = name or self._name(what)
        try:
            return self.client.containers.run(
                command=command,
                name=cname,
                labels={**self.labels, **extra_labels},
                security_opt=["no-new-privileges"],
                detach=True,
                **kw,
            )
        except docker.errors.APIError as e:
            raise InfrastructureError(f"docker: cannot start container {cname}: {e.explanation}") from None

    def _ip(self, c: Container) -> str:
        c.reload()
        return str(c.attrs["NetworkSettings"]["Networks"][self.network.name]["IPAddress"])

    def start_toxiproxy(self) -> Addr:
        with shielded():
            self._toxi = self._run(
                "toxiproxy",
                ["toxiproxy-server", "-host", "0.0.0.0", "-port", str(API_PORT)],
                {"chaos-harness.role": "toxiproxy"},
            )
        return Addr(self._ip(self._toxi), API_PORT)

    def proxy_hosts(self) -> ProxyHosts:
        assert self._toxi is not None
        return ProxyHosts("0.0.0.0", self._name("toxiproxy"), self._ip(self._toxi))

    def proxy_port(self, index: int) -> int:
        return PROXY_BASE_PORT + index

    def node_addrs(self, node: str, ports: Mapping[str, int] | None = None) -> NodeAddrs:
        """Start the node's network sandbox (its IP, hostname alias and rules live there)."""
        named = dict(ports or {"client": NODE_PORT})
        with shielded():  # started means recorded
            sandbox = self._sandboxes[node] = self._run(
                node,
                ["python3", "-u", "-c", agent.AGENT],
                {"chaos-harness.role": "sandbox", "chaos-harness.node": node},
                stdin_open=True,
                name=self._name(f"{node}-net"),
                image=self.base,
                user="0:0",
                cap_add=["NET_ADMIN", "NET_RAW"],
                networking_config={
                    self.network.name: self.client.api.create_endpoint_config(aliases=[node])
                },
            )
        ip = self._ip(sandbox)
        self._ips[node] = ip
        self._ports[node] = named
        first = next(iter(named.values()))
        return NodeAddrs(
            Addr("0.0.0.0", first),
            Addr(node, first),
            host=node,
            ports=named,
            upstreams={n: Addr(node, p) for n, p in named.items()},
            direct={n: Addr(node, p) for n, p in named.items()},
            client_direct={n: Addr(ip, p) for n, p in named.items()},
        )

    def start_node(self, ctx: NodeContext, spec: NodeSpec) -> None:
        img = resolve_image(self.client, spec.image, self.image)
        kw: dict[str, Any] = {"working_dir": "/app"} if img == self.image else {}
        env = dict(spec.env)
        volumes: dict[str, dict[str, str]] = {}
        if self._clocks is not None:  # the host's libfaketime and the offset files, read-only
            env.update(self._clocks.env(ctx.node))
            volumes[str(self._clocks.folder)] = {"bind": CLOCK_DIR, "mode": "ro"}
            volumes[self._faketime_lib] = {"bind": FAKETIME_LIB, "mode": "ro"}
        if self._host_data:
            volumes[str(self._host_data_dir(ctx))] = {"bind": ctx.data_dir, "mode": "rw"}
        if volumes:
            kw["volumes"] = volumes
        try:
            with shielded():  # created means recorded (close() removes it, also if starting fails)
                c = self._containers[ctx.node] = self.client.containers.create(
                    img,
                    list(spec.argv),
                    name=self._name(ctx.node),
                    labels={**self.labels, "chaos-harness.role": "node", "chaos-harness.node": ctx.node},
                    network_mode=f"container:{self._sandboxes[ctx.node].id}",
                    user=USER,
                    cap_drop=["ALL"],
                    security_opt=["no-new-privileges"],
                    environment=env,
                    **kw,
                )
            # the data dir exists, owned by the node's user, before the node starts (it survives restarts)
            if not self._host_data:
                c.put_archive("/" + ctx.data_dir.strip("/").split("/")[0], _dir_tar(ctx.data_dir))
            c.start()
        except docker.errors.APIError as e:
            raise InfrastructureError(
                f"docker: cannot start node {ctx.node} from {img}: {e.explanation}"
            ) from None

    def direct_addr(self, node: str, port: str | None = None) -> Addr:
        named = self._ports[node]
        return Addr(self._ips[node], named[port] if port is not None else next(iter(named.values())))

    def client_ip(self) -> str:
        """The host's address on the run's network: where the clients' packets come from."""
        self.network.reload()
        cfg = self.network.attrs["IPAM"]["Config"][0]
        return str(cfg["Gateway"]).split("/")[0]

    def run_command(self, node: str, argv: tuple[str, ...], env: Mapping[str, str], timeout: float) -> int:
        """The command's exit code; 124 when the engine has not answered within ``timeout`` seconds (a hung
        command never holds a run: it is left to end with its container)."""
        if not self.running(node):
            return 125
        result: list[int] = []

        def run() -> None:
            try:
                res = self._c(node).exec_run(list(argv), environment=dict(env), user=USER)
                result.append(int(res.exit_code if res.exit_code is not None else 1))
            except docker.errors.APIError:
                result.append(126)

        waiter = threading.Thread(target=run, name=f"ready-{node}", daemon=True)
        waiter.start()
        waiter.join(timeout)
        return result[0] if result else 124

    def load_rules(self, rulesets: Mapping[str, str]) -> None:
        """Load one ``iptables-restore`` ruleset into each named node's namespace, all nodes in parallel."""
        items = list(rulesets.items())
        if len(items) == 1:
            self._load_one(*items[0])
            return
        with ThreadPoolExecutor(max_workers=len(items)) as pool:
            for f in [pool.submit(self._load_one, n, r) for n, r in items]:
                f.result()

    def _sandbox_pid(self, node: str) -> int:
        sb = self._sandboxes[node]
        if "_pid" not in sb.attrs:
            sb.reload()
            sb.attrs["_pid"] = int(sb.attrs["State"]["Pid"])
        return int(sb.attrs["_pid"])

    def _load_one(self, node: str, ruleset: str) -> None:
        code, out = self._in_namespace(node, "ipt", ruleset)
        if code != 0:
            raise InfrastructureError(
                f"packet filter rules for node {node}: iptables-restore failed: {out.strip()[:200]}"
            )

    def _in_namespace(self, node: str, tool: str, stdin: str) -> tuple[int, str]:
        """Run ``tool`` (``agent.TOOLS``) on ``stdin`` in the node's network namespace: by nsenter from the
        host, else through the sandbox's agent over its attached stdin, else by ``docker exec``."""
        argv = list(agent.TOOLS[tool])
        if self.use_nsenter:
            r = subprocess.run(
                ["nsenter", "-t", str(self._sandbox_pid(node)), "-n", *argv],
                input=stdin.encode(),
                capture_output=True,
                timeout=10,
            )
            return r.returncode, r.stderr.decode(errors="replace")
        channel = self._channel(node) if self.use_agent else None
        if channel is not None:
            try:
                return channel.call(tool, stdin)
            except agent.AgentError:
                self._channels.pop(node, None)
        cmd = 'printf "%s" "$0" | ' + " ".join(argv)
        res = self._sandboxes[node].exec_run(["sh", "-c", cmd, stdin], user="0:0")
        return int(res.exit_code or 0), res.output.decode(errors="replace")

    def _channel(self, node: str) -> agent.Channel | None:
        """The attached agent of the node's sandbox (attached once), or None where the engine's transport
        gives no plain socket (then ``docker exec`` is used)."""
        if node not in self._channels:
            try:
                raw = self.client.api.attach_socket(
                    self._sandboxes[node].id, params={"stdin": 1, "stdout": 1, "stream": 1}
                )
                sock = getattr(raw, "_sock", raw)
                if not hasattr(sock, "sendall"):
                    return None
                channel = agent.Channel(sock)
                channel.wait_ready()
            except (docker.errors.DockerException, agent.AgentError, OSError):
                return None
            self._channels[node] = channel
        return self._channels[node]

    def attach_agents(self) -> None:
        """Attach every sandbox's agent now, in parallel (so the first partition pays no set-up)."""
        if self.use_nsenter or not self.use_agent:
            return
        with ThreadPoolExecutor(max_workers=max(1, len(self._sandboxes))) as pool:
            list(pool.map(self._channel, list(self._sandboxes)))

    def netem_available(self) -> bool:
        """Whether the engine's kernel has sch_netem (tried once on a node's loopback, then removed)."""
        if not hasattr(self, "_netem"):
            node = next(iter(self._sandboxes))
            code, _ = self._in_namespace(node, "tc", "qdisc add dev lo root netem delay 0ms\n")
            if code == 0:
                self._in_namespace(node, "tc", "qdisc del dev lo root\n")
            self._netem = code == 0
        return self._netem

    def load_tc(self, scripts: Mapping[str, str | None]) -> None:
        """Per node: clear its egress qdisc, then (unless None) load the ``tc -batch`` script; in parallel."""

        def one(node: str, script: str | None) -> None:
            self._in_namespace(node, "tcf", netem.CLEAR)
            if script is not None:
                code, out = self._in_namespace(node, "tc", script)
                if code != 0:
                    raise InfrastructureError(f"netem for node {node}: tc failed: {out.strip()[:200]}")

        with ThreadPoolExecutor(max_workers=max(1, len(scripts))) as pool:
            for f in [pool.submit(one, n, s) for n, s in scripts.items()]:
                f.result()

    def build_net(self, topology: Topology, mesh: Mesh | None) -> PacketNet:
        """The run's ``Net``: packet filters in each node's namespace (plus ``mesh``, the proxied links)."""
        ips = {n: self.direct_addr(n).host for n in topology.nodes}
        ips[CLIENT] = self.client_ip()
        self.attach_agents()
        return PacketNet(
            topology, ips, self.load_rules, mesh, shape=self.load_tc, netem_ok=self.netem_available
        )

    def rules(self, node: str) -> str:
        """The filter rules now in the node's namespace (``iptables -S``), for tests and diagnosis."""
        res = self._sandboxes[node].exec_run(["iptables", "-S"], user="0:0")
        return res.output.decode(errors="replace")

    def _c(self, node: str) -> Container:
        return self._containers[node]

    def running(self, node: str) -> bool:
        c = self._c(node)
        c.reload()
        return c.status in ("running", "paused")

    def states(self) -> dict[str, str]:
        """Every node's state from one engine query: running, paused or down. A node whose network sandbox is
        not running is down too: its container may still run, but nothing can reach it (the watch then records
        an observed outage instead of the run meeting it later as an engine error)."""
        found: dict[str, str] = {}
        sandboxes: dict[str, str] = {}
        for c in self.client.containers.list(all=True, filters={"label": [f"{LABEL}={self.run.run_id}"]}):
            role, node = c.labels.get("chaos-harness.role"), str(c.labels.get("chaos-harness.node"))
            if role == "node":
                found[node] = str(c.status)
            elif role == "sandbox":
                sandboxes[node] = str(c.status)
        ok = ("running", "paused")
        return {
            n: s if (s := found.get(n, "down")) in ok and sandboxes.get(n, "running") == "running" else "down"
            for n in self._containers
        }

    def start(self, node: str) -> None:
        if not self.running(node):
            sandbox = self._sandboxes.get(node)
            if sandbox is not None:
                sandbox.reload()
                if sandbox.status != "running":  # the engine would answer "409 Conflict": say what happened
                    raise InfrastructureError(
                        f"node {node}: its network sandbox {sandbox.name} is {sandbox.status} (stopped "
                        "outside the harness), so the node cannot start again; the watch recorded the outage"
                    )
            self._c(node).start()

    def stop(self, node: str) -> None:
        if self._c(node).status == "paused":
            self._c(node).unpause()
        self._c(node).stop(timeout=5)

    def kill(self, node: str) -> None:
        if self.running(node):
            if self._c(node).status == "paused":
                self._c(node).unpause()  # the engine refuses to kill a frozen container
            self._c(node).kill()
            self._c(node).wait(timeout=10)

    def pause(self, node: str) -> None:
        engine_retry(self._c(node).pause, f"docker pause {node}")

    def resume(self, node: str) -> None:
        engine_retry(self._c(node).unpause, f"docker unpause {node}")

    def logs(self) -> dict[str, str]:
        out = dict(self._final_logs)
        for node, c in self._containers.items():
            with contextlib.suppress(docker.errors.DockerException):
                out[node] = c.logs().decode("utf-8", errors="replace")
        return out

    # prepared abilities (harness.cluster.prepare): faked clocks, the disk fault layer, host-side data dirs

    def prepare(self, abilities: frozenset[str]) -> None:
        local_engine = os.environ.get("DOCKER_HOST", "unix://").startswith("unix://")
        if (abilities & {CLOCK, DISK, CORRUPT}) and not local_engine:
            for a in abilities & {CLOCK, DISK, CORRUPT}:
                self._why[a] = "the Docker engine is not on this machine: its containers cannot see our files"
            return
        if CLOCK in abilities:
            lib = libfaketime_path()
            if lib is None:
                self._why[CLOCK] = "libfaketime is not installed (scripts/setup installs it from Debian)"
            else:
                self._faketime_lib = lib
                self._clocks = FakeClocks(self.run.path / "clock", FAKETIME_LIB, visible=CLOCK_DIR)
                os.chmod(self._clocks.folder, 0o755)
        if DISK in abilities:
            self._disk = self._prepare_disk()
        self._host_data = self._disk or CORRUPT in abilities

    def prepared(self) -> frozenset[str]:
        out = set()
        if self._clocks is not None:
            out.add(CLOCK)
        if self._disk:
            out.add(DISK)
        if self._host_data:
            out.add(CORRUPT)
        return frozenset(out)

    def refusal(self, ability: str, node: str) -> str | None:
        if ability != CLOCK:
            return None
        c = self._c(node)
        c.reload()
        pid = int(c.attrs["State"].get("Pid") or 0)
        if not pid:
            return "its container is not running"
        return clock_refusal([pid, *descendants(pid)])

    def _host_data_dir(self, ctx: NodeContext) -> Path:
        """The node's data directory on the host (behind the disk fault layer when there is one), owned by the
        node's user; created before the container so the bind mount shows it."""
        uid, gid = (int(x) for x in USER.split(":"))
        mount = self.run.path / "data" / ctx.node
        if self._disk and ctx.node not in self._layers:
            backing = self.run.path / "disk" / ctx.node
            backing.mkdir(parents=True, exist_ok=True)
            os.chown(backing, uid, gid)
            with shielded():
                self._layers[ctx.node] = LayerProcess(self.run, ctx.node, backing, mount)
        elif not self._disk:
            mount.mkdir(parents=True, exist_ok=True)
            os.chown(mount, uid, gid)
        return mount

    def data_files(self, node: str) -> Path:
        if not self._host_data:
            raise InfrastructureError(f"corrupt: node {node}'s data directory is inside its container")
        return self.run.path / ("disk" if self._disk else "data") / node

    def close(self) -> None:
        """Remove what the run recorded, then everything labelled with its id (also what an interrupted
        call created without our knowing)."""
        self._close_abilities()
        with shielded():
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
            self._final_logs = self.logs()
            nodes = list(self._containers.values())
            for c in [*nodes, *self._sandboxes.values(), *([self._toxi] if self._toxi else [])]:
                with contextlib.suppress(docker.errors.DockerException):
                    c.remove(force=True)
            with contextlib.suppress(docker.errors.DockerException):
                self.network.remove()
            with contextlib.suppress(docker.errors.DockerException):
                sweep_labelled(self.client, self.run.run_id)
            self.client.close()
            self._unmount_layers()  # after the containers: nothing holds the mounts any more


def sweep_labelled(c: docker.DockerClient, run_id: str, rounds: int = 3) -> list[str]:
    """Force-remove containers, then networks, labelled ``run_id``; repeated until a round finds nothing
    (a create request cut off by an interrupt may still be completing in the engine)."""
    flt = {"label": f"{LABEL}={run_id}"}
    removed: list[str] = []
    for n in range(rounds):
        found = 0
        for cont in c.containers.list(all=True, filters=flt):
            found += 1
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                cont.remove(force=True)
                removed.append(f"container {cont.name}")
        for net in c.networks.list(filters=flt):
            found += 1
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                net.remove()
                removed.append(f"network {net.name}")
        if not found and n:
            break
        time.sleep(0.2)
    return removed


def _dir_tar(path: str) -> bytes:
    """A tar of ``path`` below its first component (``/tmp``, which exists), as directories owned by the
    node's user; ``put_archive`` extracts it into that first component."""
    buf = io.BytesIO()
    uid, gid = (int(x) for x in USER.split(":"))
    parts = [p for p in path.strip("/").split("/") if p][1:]
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i in range(len(parts)):
            info = tarfile.TarInfo("/".join(parts[: i + 1]))
            info.type = tarfile.DIRTYPE
            info.mode = 0o755 if i < len(parts) - 1 else 0o700
            info.uid, info.gid = uid, gid
            tar.addfile(info)
    return buf.getvalue()


def remove_labelled(run_id: str) -> list[str]:
    """Force-remove containers and networks labelled ``run_id``; returns what went."""
    c = client(timeout=10)
    try:
        return sweep_labelled(c, run_id)
    finally:
        c.close()


def prune_images() -> list[str]:
    """Remove target images other than the current one that no container uses; returns their tags."""
    c = client(timeout=30)
    try:
        keep = ensure_image(c)
        removed = []
        for img in c.images.list(filters={"label": "chaos-harness.image=target"}):
            if keep in img.tags:
                continue
            with contextlib.suppress(docker.errors.APIError):  # in use by a container: keep it
                for tag in img.tags or [img.id]:
                    c.images.remove(tag)
                    removed.append(f"image {tag}")
        return removed
    finally:
        c.close()


def labelled_runs() -> dict[str, Owner | None]:
    """Run ids that still own containers or networks, each with the owner its labels name (None: none)."""
    c = client(timeout=10)
    try:
        flt = {"label": LABEL}
        labels = [dict(x.labels or {}) for x in c.containers.list(all=True, filters=flt)]
        labels += [dict(n.attrs.get("Labels") or {}) for n in c.networks.list(filters=flt)]
    finally:
        c.close()
    runs: dict[str, Owner | None] = {}
    for lab in labels:
        rid = str(lab.get(LABEL))
        owner = Owner.from_labels(lab)
        if runs.get(rid) is None:
            runs[rid] = owner
    return runs


def declared_images() -> list[tuple[str, ImageBuild]]:
    """``(target name, ImageBuild)`` for every image the registered targets declare (attribute ``images``)."""
    from harness.registry import Registries

    reg = Registries()
    out = []
    for name in reg.targets.names():
        try:
            declared = target_traits(reg.target(name)).images
        except HarnessError as e:
            print(f"warning: target {name}: {e}", file=sys.stderr)
            continue
        out += [(name, spec) for spec in declared]
    return out


def main(argv: list[str]) -> int:
    if argv not in (["build-image"], ["build-image", "--all-declared"]):
        print("usage: python -m harness.cluster.docker build-image [--all-declared]", file=sys.stderr)
        return 3
    try:
        c = client()
        print(f"target image: {ensure_image(c)}")
        if "--all-declared" in argv:
            for name, spec in declared_images():
                print(f"{name} image: {ensure_node_image(c, spec)} ({' '.join(spec.packages)})")
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


ENGINE_ATTEMPTS = 3  # a freeze / thaw the engine refused is tried this many times ...
ENGINE_RETRY_S = 0.3  # ... this far apart (doubling)


def engine_retry(
    action: Any, what: str, attempts: int = ENGINE_ATTEMPTS, pause_s: float = ENGINE_RETRY_S
) -> None:
    """``action()``, tried again when the engine refuses it for a passing reason: on a loaded host ``docker
    pause`` fails now and then with "OCI runtime pause failed: unable to freeze", which once ended a whole
    ZooKeeper run as crashed. After ``attempts`` refusals: one ``InfrastructureError`` line saying so."""
    for n in range(1, attempts + 1):
        try:
            action()
            return
        except docker.errors.APIError as e:
            if n == attempts:
                why = " ".join(str(getattr(e, "explanation", None) or e).split())[:200]
                raise InfrastructureError(f"{what} failed {attempts} times: {why}") from None
            time.sleep(pause_s * 2 ** (n - 1))
