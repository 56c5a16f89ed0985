"""The ``kubernetes`` backend: the only module that talks to the Kubernetes API (the official client).

Per run: one namespace ``chaos-<run>`` labelled ``chaos-harness.run=<run>``, with the owner record
(``harness.cluster.owner``) in its annotations, so ``chaos clean`` from any checkout can tell a live run
from a dead one. Per node one pod named after the node, on whatever cluster the kubeconfig names
(``KUBECONFIG``, else the project's test cluster ``.chaos/kube/kubeconfig`` when ``scripts/kube up`` made
one, else ``~/.kube/config``; inside a cluster its service account). Kubernetes is the engine: the
scheduler places the pods, the cluster's network connects them; the harness builds no placement or
networking of its own.

A node's pod is made in two steps, as the docker backend makes a sandbox and then the node:

1. ``node_addrs`` creates the pod with one container, ``net`` (the base image, ``NET_ADMIN`` and ``NET_RAW``,
   running ``harness.cluster.pod_agent``): the pod gets its address, which peers and clients use for the
   whole run (a killed and restarted node process keeps it, and the rules in force).
2. ``start_node`` adds the node as an *ephemeral container* (the target's image, no capabilities, the run's
   user) whose first process is the same agent acting as supervisor: it starts the target's command and
   signals its process tree for kill (SIGKILL), restart (SIGTERM, then start), pause and resume, while the pod
   and its data directory (an ``emptyDir`` volume at ``/tmp/chaos-data``) stay.

The host reaches every pod at its address (from where the harness runs: a host on the pod network, as the test
cluster's is, or a Job inside the cluster: docs/kubernetes.md). Packet filters are ``iptables-restore`` rule
sets loaded by the ``net`` agent, the agents' own ports always accepted first. Images are the docker backend's
(built locally by content hash) and reach the cluster by ``CHAOS_KUBE_IMAGES``: ``import:<command>`` (the
command is called with the image's name and makes it available to the cluster's nodes, as ``kind load
docker-image`` does; the test cluster's default is ``.chaos/kube/import-image``), ``registry:<prefix>``
(tag and push; pods pull) or ``present`` (already there; with ``CHAOS_KUBE_TARGET_IMAGE`` naming the target
image, and ``CHAOS_KUBE_BASE_IMAGE`` the base image (default: the target image), no Docker engine is needed,
as in a Job inside the cluster).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

from harness.cluster.base import NodeAddrs, Placement, ProxyHosts
from harness.cluster.owner import Owner
from harness.cluster.rundir import LABEL, RunDir, chaos_home
from harness.errors import BadInput, InfrastructureError
from harness.interrupts import shielded
from harness.names import CLIENT, KUBERNETES
from harness.net.mesh import Mesh
from harness.net.packet import PacketNet
from harness.target import Addr, NodeContext, NodeSpec, Topology

AGENT_PORT = 39990  # the node's supervisor
NET_AGENT_PORT = 39991  # the pod's rule loader
TOXIPROXY_PORT = 8474
PROXY_BASE_PORT = 20000
DATA_ROOT = "/tmp/chaos-data"
UID = 65534
OWNER_ANNOTATION = "chaos-harness/owner"
POD_TIMEOUT = float(os.environ.get("CHAOS_KUBE_POD_TIMEOUT", "120"))
FIX = "run `CHAOS_KUBERNETES=1 scripts/setup` (it builds and starts a test cluster) or set KUBECONFIG"


def kubeconfig_path() -> Path | None:
    """The kubeconfig: ``KUBECONFIG``, else the test cluster's, else ``~/.kube/config`` (None: none)."""
    env = os.environ.get("KUBECONFIG")
    if env:
        return Path(env.split(os.pathsep)[0])
    for p in (chaos_home() / "kube" / "kubeconfig", Path.home() / ".kube" / "config"):
        if p.is_file():
            return p
    return None


def api_client(timeout: float = 10.0) -> Any:
    """An ``ApiClient`` for the cluster the kubeconfig (or the pod's service account) names."""
    try:
        from kubernetes import client as k8s
        from kubernetes import config as kcfg
    except ImportError:
        raise InfrastructureError(
            "the kubernetes backend needs the kubernetes Python client: "
            "pip install 'chaos-harness[kubernetes]'"
        ) from None
    cfg = k8s.Configuration()
    path = kubeconfig_path()
    try:
        if path is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            kcfg.load_incluster_config(client_configuration=cfg)
        elif path is None:
            raise InfrastructureError(f"kubernetes: no kubeconfig found (KUBECONFIG, ~/.kube/config); {FIX}")
        else:
            kcfg.load_kube_config(config_file=str(path), client_configuration=cfg)
    except (kcfg.ConfigException, OSError, ValueError) as e:
        raise InfrastructureError(f"kubernetes: cannot read the kubeconfig {path}: {e}") from None
    cfg.retries = 1
    return k8s.ApiClient(cfg)


def kube_reachable(timeout: float = 3.0) -> bool:
    """Whether a cluster answers (the API server's version endpoint)."""
    try:
        from kubernetes import client as k8s

        with api_client() as api:
            k8s.VersionApi(api).get_code(_request_timeout=timeout)
        return True
    except Exception:  # noqa: BLE001 - any failure means: not reachable
        return False


def cluster_summary(timeout: float = 3.0) -> tuple[bool, str]:
    """What ``chaos doctor`` says of the cluster: reachable or not, its server, version and nodes."""
    path = kubeconfig_path()
    if path is None and not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return False, f"no kubeconfig (KUBECONFIG, .chaos/kube/kubeconfig, ~/.kube/config); {FIX}"
    try:
        from kubernetes import client as k8s

        with api_client() as api:
            version = k8s.VersionApi(api).get_code(_request_timeout=timeout).git_version
            core: Any = k8s.CoreV1Api(api)
            nodes = core.list_node(_request_timeout=timeout).items
            ready = sum(
                1
                for n in nodes
                if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
            )
            server = api.configuration.host
    except InfrastructureError as e:
        return False, str(e)
    except Exception as e:  # noqa: BLE001 - any failure: say what it was, on one line
        return False, f"{path or 'in-cluster'}: not reachable ({_why(e)}); {FIX}"
    return True, f"{server} ({version}, {ready}/{len(nodes)} nodes ready; kubeconfig {path or 'in-cluster'})"


def _ns(run_id: str) -> str:
    return f"chaos-{run_id.replace('_', '-')}"


class Agent:
    """One agent of one pod (``harness.cluster.pod_agent``): a request is one JSON line, so is the answer."""

    def __init__(self, host: str, port: int, token: str, timeout: float = 30.0) -> None:
        self.host, self.port, self.token, self.timeout = host, port, token, timeout
        self._sock: socket.socket | None = None
        self._file: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> None:
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self._file = self._sock.makefile("rwb")

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        line = (json.dumps({"op": op, "token": self.token, **args}) + "\n").encode()
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._sock is None:
                        self._connect()
                    self._file.write(line)
                    self._file.flush()
                    answer = self._file.readline()
                    if not answer:
                        raise OSError("connection closed")
                    out: dict[str, Any] = json.loads(answer)
                    break
                except (OSError, ValueError) as e:
                    self.close()
                    if attempt == 2:
                        raise InfrastructureError(
                            f"kubernetes: pod agent {self.host}:{self.port} ({op}): {e}"
                        ) from None
        if not out.get("ok"):
            raise InfrastructureError(
                f"kubernetes: pod agent {self.host}:{self.port} ({op}): {out.get('error')}"
            )
        return out

    def wait(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.call("hello")
            except InfrastructureError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._file is not None:
                self._file.close()
            if self._sock is not None:
                self._sock.close()
        self._sock = self._file = None


def agent_source() -> str:
    return Path(__file__).with_name("pod_agent.py").read_text(encoding="utf-8")


def publish_image(tag: str) -> str:
    """Make a locally built image available to the cluster (``CHAOS_KUBE_IMAGES``); the name pods use."""
    how = os.environ.get("CHAOS_KUBE_IMAGES") or _default_images()
    kind, _, arg = how.partition(":")
    if kind == "present":
        return tag
    if kind == "import":
        argv = [*shlex.split(arg), tag]
        try:
            r = subprocess.run(argv, capture_output=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise InfrastructureError(f"kubernetes: cannot load image {tag} with {arg!r}: {e}") from None
        if r.returncode != 0:
            err = (r.stderr or r.stdout or b"").decode(errors="replace").strip()[-200:]
            raise InfrastructureError(f"kubernetes: loading image {tag} with {arg!r} failed: {err}")
        return tag
    if kind == "registry":
        remote = f"{arg.rstrip('/')}/{tag.replace('/', '-')}"
        for argv in (["docker", "tag", tag, remote], ["docker", "push", remote]):
            r = subprocess.run(argv, capture_output=True, timeout=600)
            if r.returncode != 0:
                raise InfrastructureError(
                    f"kubernetes: {' '.join(argv)} failed: {r.stderr.decode(errors='replace').strip()[-200:]}"
                )
        return remote
    raise BadInput(f"CHAOS_KUBE_IMAGES={how!r}: expected import:<command>, registry:<prefix> or present")


def _images_mode() -> str:
    return (os.environ.get("CHAOS_KUBE_IMAGES") or _default_images()).partition(":")[0]


def _default_images() -> str:
    script = chaos_home() / "kube" / "import-image"
    return f"import:{script}" if script.is_file() else "present"


class KubernetesBackend:
    """Pods in a per-run namespace; see the module docstring."""

    name = KUBERNETES
    data_root = DATA_ROOT
    concurrent_calls = True  # every per-node call is API round trips: the platform runs them in parallel
    placement = Placement(own_hosts=True, images=True, data_root=DATA_ROOT)

    @staticmethod
    def available() -> bool:
        """Whether a cluster answers (``chaos doctor``; ``auto`` never picks kubernetes: it is asked for)."""
        return kube_reachable()

    def __init__(self, run: RunDir) -> None:
        from kubernetes import client as k8s

        from harness.cluster import docker as dk

        self.run = run
        self.namespace = _ns(run.run_id)
        self.token = secrets.token_hex(16)
        self.api: Any = api_client()
        self.core: Any = k8s.CoreV1Api(self.api)
        self._pull = "Never" if _images_mode() == "import" else "IfNotPresent"
        self._ips: dict[str, str] = {}
        self._ports: dict[str, dict[str, int]] = {}
        self._nodes: dict[str, Agent] = {}
        self._nets: dict[str, Agent] = {}
        self._commands: dict[str, dict[str, Any]] = {}  # node -> what ``start`` runs (argv, env, cwd)
        self._final_logs: dict[str, str] = {}
        self._client_ip = ""
        self._published: dict[str, str] = {}
        self._toxi_ip: str | None = None
        owner = run.owner()
        try:
            named = os.environ.get("CHAOS_KUBE_TARGET_IMAGE")
            if named and _images_mode() == "present":  # no engine needed: the images are in a registry
                self.docker = None
                self.image = named
                self.base = os.environ.get("CHAOS_KUBE_BASE_IMAGE") or named
            else:
                self.docker = dk.client()
                self.image = self._publish(dk.ensure_image(self.docker))
                self.base = self._publish(self._base_tag(dk))
            meta = {
                "name": self.namespace,
                "labels": {LABEL: run.run_id, "chaos-harness.role": "run"},
                "annotations": {OWNER_ANNOTATION: json.dumps(owner.labels() if owner else {})},
            }
            with shielded():  # created means recorded: close() deletes it
                self.core.create_namespace(cast(Any, {"metadata": meta}), _request_timeout=15)
        except BaseException as e:
            with shielded():
                self._delete_namespace(wait=False)
            if _is_api_error(e):
                raise InfrastructureError(
                    f"kubernetes: cannot create namespace {self.namespace}: {_why(e)}"
                ) from None
            raise

    def _base_tag(self, dk: Any) -> str:
        base = dk.base_image(self.docker)
        tags = [t for t in base.tags if t]
        if tags:
            return str(tags[0])
        tag = f"chaos-harness/base:{base.id.split(':')[-1][:12]}"
        base.tag(tag)
        return tag

    def _publish(self, tag: str) -> str:
        if tag not in self._published:
            self._published[tag] = publish_image(tag)
        return self._published[tag]

    # --- pods -------------------------------------------------------------------------------------------

    def _labels(self, node: str, role: str) -> dict[str, str]:
        return {LABEL: self.run.run_id, "chaos-harness.role": role, "chaos-harness.node": node}

    def _agent_env(self, role: str, port: int) -> list[dict[str, str]]:
        return [
            {"name": "CHAOS_AGENT_TOKEN", "value": self.token},
            {"name": "CHAOS_AGENT_PORT", "value": str(port)},
            {"name": "CHAOS_AGENT_ROLE", "value": role},
        ]

    def _create_pod(self, name: str, role: str, container: dict[str, Any]) -> str:
        """Create a pod of one container and wait until it runs; its IP."""
        body = {
            "metadata": {"name": name, "labels": self._labels(name, role)},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 1,
                "enableServiceLinks": False,
                "automountServiceAccountToken": False,
                "hostname": name,
                "volumes": [{"name": "data", "emptyDir": {}}],
                "containers": [container],
            },
        }
        try:
            with shielded():
                self.core.create_namespaced_pod(self.namespace, body, _request_timeout=15)
        except Exception as e:
            if _is_api_error(e):
                raise InfrastructureError(f"kubernetes: cannot create pod {name}: {_why(e)}") from None
            raise
        return self._wait_pod(name, _has_ip)

    def _wait_pod(self, name: str, ok: Any) -> str:
        deadline = time.monotonic() + POD_TIMEOUT
        last = "not seen yet"
        while time.monotonic() < deadline:
            try:
                pod = self.core.read_namespaced_pod(name, self.namespace, _request_timeout=10)
            except Exception as e:  # noqa: BLE001 - the API server may be slow to answer: retry
                last = _why(e)
                time.sleep(0.2)
                continue
            if ok(pod):
                return str(pod.status.pod_ip)
            last = _pod_state(pod)
            if "ErrImage" in last or "ImagePull" in last or _phase(pod) in ("Failed", "Succeeded"):
                break
            time.sleep(0.1)
        raise InfrastructureError(f"kubernetes: pod {name} not running within {POD_TIMEOUT:g} s ({last})")

    def _security(self, uid: int, caps: list[str]) -> dict[str, Any]:
        return {
            "runAsUser": uid,
            "runAsGroup": uid,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": caps},
        }

    def node_addrs(self, node: str, ports: Mapping[str, int] | None = None) -> NodeAddrs:
        """Create the node's pod with its ``net`` container: the pod's address is the node's for the run."""
        named = dict(ports or {"client": 7000})
        ip = self._create_pod(
            node,
            "node",
            {
                "name": "net",
                "image": self.base,
                "imagePullPolicy": self._pull,
                "command": ["python3", "-u", "-c", agent_source()],
                "env": self._agent_env("net", NET_AGENT_PORT),
                "securityContext": {**self._security(0, ["NET_ADMIN", "NET_RAW"]), "runAsNonRoot": False},
            },
        )
        self._ips[node], self._ports[node] = ip, named
        net = self._nets[node] = Agent(ip, NET_AGENT_PORT, self.token)
        seen = net.wait(POD_TIMEOUT)
        self._client_ip = self._client_ip or str(seen.get("peer", ""))
        first = next(iter(named.values()))
        direct = {n: Addr(ip, p) for n, p in named.items()}
        return NodeAddrs(
            Addr("0.0.0.0", first),
            Addr(ip, first),
            host=ip,
            ports=named,
            upstreams=direct,
            direct=direct,
            client_direct=direct,
        )

    def start_node(self, ctx: NodeContext, spec: NodeSpec) -> None:
        """Add the node's container to its pod (an ephemeral container running the supervisor), then start
        the target's command in it."""
        from harness.cluster import docker as dk

        if self.docker is not None:
            img = self._publish(dk.resolve_image(self.docker, spec.image, self.image))
        elif spec.image is None or isinstance(spec.image, str):
            img = spec.image or self.image
        else:
            raise BadInput(
                f"node {ctx.node}: its image is built from Debian packages "
                f"({' '.join(spec.image.packages)}), which needs a Docker engine; without one, push it "
                "and name the image in the target instead"
            )
        node = ctx.node
        container = {
            "name": "node",
            "image": img,
            "imagePullPolicy": self._pull,
            "command": ["python3", "-u", "-c", agent_source()],
            "env": self._agent_env("node", AGENT_PORT),
            "securityContext": self._security(UID, []),
            "volumeMounts": [{"name": "data", "mountPath": DATA_ROOT}],
        }
        try:
            pod = self.core.read_namespaced_pod(node, self.namespace, _request_timeout=10)
            body = self.api.sanitize_for_serialization(pod)
            body["spec"]["ephemeralContainers"] = [container]
            with shielded():
                self.core.replace_namespaced_pod_ephemeralcontainers(
                    node, self.namespace, body, _request_timeout=15
                )
        except Exception as e:
            if _is_api_error(e):
                raise InfrastructureError(
                    f"kubernetes: cannot add the node's container to pod {node}: {_why(e)}"
                ) from None
            raise
        self._wait_pod(node, lambda p: _ephemeral_running(p, "node"))
        agent = self._nodes[node] = Agent(self._ips[node], AGENT_PORT, self.token)
        agent.wait(POD_TIMEOUT)
        agent.call("mkdir", path=ctx.data_dir)
        self._commands[node] = {
            "argv": list(spec.argv),
            "env": dict(spec.env),
            "cwd": "/app" if img == self.image else None,
        }
        self.start(node)

    # --- process controls (the supervisor) --------------------------------------------------------------

    def start(self, node: str) -> None:
        self._nodes[node].call("start", **self._commands[node])

    def stop(self, node: str) -> None:
        self._nodes[node].call("stop", grace=5)

    def kill(self, node: str) -> None:
        self._nodes[node].call("kill")

    def pause(self, node: str) -> None:
        self._nodes[node].call("pause")

    def resume(self, node: str) -> None:
        self._nodes[node].call("resume")

    def running(self, node: str) -> bool:
        return node in self._nodes and self._state(node) != "down"

    def states(self) -> dict[str, str]:
        return {node: self._state(node) for node in self._nodes}

    def _state(self, node: str) -> str:
        """One node's state as its supervisor reports it (``down`` when the agent cannot be reached)."""
        try:
            return str(self._nodes[node].call("state")["state"])
        except InfrastructureError:
            return "down"

    def run_command(self, node: str, argv: tuple[str, ...], env: Mapping[str, str], timeout: float) -> int:
        agent = self._nodes.get(node)
        if agent is None:
            return 125
        try:
            return int(agent.call("exec", argv=list(argv), env=dict(env), timeout=timeout)["code"])
        except InfrastructureError:
            return 126

    def exec_output(self, node: str, argv: list[str], timeout: float = 20) -> tuple[int, str]:
        """Run ``argv`` in the node's container; its exit code and output (tests and diagnosis)."""
        out = self._nodes[node].call("exec", argv=argv, timeout=timeout, capture=True)
        return int(out["code"]), str(out["output"])

    def rules(self, node: str) -> str:
        """The filter rules now in the node's namespace (``iptables -S``), for tests and diagnosis."""
        out = self._nets[node].call("exec", argv=["iptables", "-S"], timeout=10, capture=True)
        return str(out["output"])

    def direct_addr(self, node: str, port: str | None = None) -> Addr:
        named = self._ports[node]
        return Addr(self._ips[node], named[port] if port is not None else next(iter(named.values())))

    def client_ip(self) -> str:
        """The address the pods see the harness's connections come from (what a client cut drops)."""
        return self._client_ip

    # --- packet filters (the net agent) -----------------------------------------------------------------

    def load_rules(self, rulesets: Mapping[str, str]) -> None:
        """Load each node's ``iptables-restore`` rule set, the agents' ports accepted first; in parallel."""
        keep = f"-A INPUT -p tcp -m multiport --dports {AGENT_PORT},{NET_AGENT_PORT} -j ACCEPT\n"

        def one(node: str, ruleset: str) -> None:
            text = ruleset.replace(":OUTPUT ACCEPT [0:0]\n", ":OUTPUT ACCEPT [0:0]\n" + keep, 1)
            out = self._nets[node].call("ipt", data=text)
            if out.get("code") != 0:
                raise InfrastructureError(
                    f"packet filter rules for node {node}: iptables-restore failed: {out.get('err', '')}"
                )

        with ThreadPoolExecutor(max_workers=max(1, len(rulesets))) as pool:
            for f in [pool.submit(one, n, r) for n, r in rulesets.items()]:
                f.result()

    def build_net(self, topology: Topology, mesh: Mesh | None) -> PacketNet:
        """The run's ``Net``: packet filters in each pod's namespace (plus ``mesh``, the proxied links)."""
        ips = {n: self.direct_addr(n).host for n in topology.nodes}
        ips[CLIENT] = self.client_ip()
        return PacketNet(
            topology, ips, self.load_rules, mesh, shape=self.load_tc, netem_ok=self.netem_available
        )

    def netem_available(self) -> bool:
        if not hasattr(self, "_netem"):
            net = next(iter(self._nets.values()))
            code = net.call("tc", data="qdisc add dev lo root netem delay 0ms\n").get("code")
            if code == 0:
                net.call("tc", data="qdisc del dev lo root\n")
            self._netem = code == 0
        return self._netem

    def load_tc(self, scripts: Mapping[str, str | None]) -> None:
        from harness.net import netem

        def one(node: str, script: str | None) -> None:
            self._nets[node].call("tcf", data=netem.CLEAR)
            if script is not None:
                out = self._nets[node].call("tc", data=script)
                if out.get("code") != 0:
                    raise InfrastructureError(f"netem for node {node}: tc failed: {out.get('err', '')}")

        with ThreadPoolExecutor(max_workers=max(1, len(scripts))) as pool:
            for f in [pool.submit(one, n, s) for n, s in scripts.items()]:
                f.result()

    # --- Toxiproxy (only when a run routes links through proxies) ---------------------------------------

    def start_toxiproxy(self) -> Addr:
        self._toxi_ip = self._create_pod(
            "toxiproxy",
            "toxiproxy",
            {
                "name": "toxiproxy",
                "image": self.image,
                "imagePullPolicy": self._pull,
                "command": ["toxiproxy-server", "-host", "0.0.0.0", "-port", str(TOXIPROXY_PORT)],
                "securityContext": self._security(UID, []),
            },
        )
        return Addr(self._toxi_ip, TOXIPROXY_PORT)

    def proxy_hosts(self) -> ProxyHosts:
        assert self._toxi_ip is not None
        return ProxyHosts("0.0.0.0", self._toxi_ip, self._toxi_ip)

    def proxy_port(self, index: int) -> int:
        return PROXY_BASE_PORT + index

    # --- logs and teardown ------------------------------------------------------------------------------

    def logs(self) -> dict[str, str]:
        out = dict(self._final_logs)
        for node, agent in self._nodes.items():
            with contextlib.suppress(InfrastructureError):
                out[node] = str(agent.call("logs")["text"])
        return out

    def close(self) -> None:
        """Read the logs, then delete the run's namespace (and with it every pod and rule) and wait for it."""
        with shielded():
            with contextlib.suppress(Exception):
                self._final_logs = self.logs()
            for agent in [*self._nodes.values(), *self._nets.values()]:
                agent.close()
            with contextlib.suppress(Exception):
                self._delete_namespace(wait=True)
            if self.docker is not None:
                with contextlib.suppress(Exception):
                    self.docker.close()
            with contextlib.suppress(Exception):
                self.api.close()

    def _delete_namespace(self, wait: bool) -> None:
        delete_namespace(self.core, self.namespace, wait)


def delete_namespace(core: Any, name: str, wait: bool, timeout: float = 90.0) -> bool:
    """Delete a run's namespace, its pods at once (grace 0); with ``wait``, until it is gone.
    Whether it is gone."""
    with contextlib.suppress(Exception):
        core.delete_collection_namespaced_pod(name, grace_period_seconds=0, _request_timeout=15)
    try:
        core.delete_namespace(name, grace_period_seconds=0, _request_timeout=15)
    except Exception as e:  # noqa: BLE001
        if _status(e) == 404:
            return True
    if not wait:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            core.read_namespace(name, _request_timeout=10)
        except Exception as e:  # noqa: BLE001
            if _status(e) == 404:
                return True
        time.sleep(0.25)
    return False


def labelled_runs() -> dict[str, Owner | None]:
    """Run id -> owner (from the annotation) of every namespace a run made on the cluster."""
    from kubernetes import client as k8s

    out: dict[str, Owner | None] = {}
    with api_client() as api:
        core: Any = k8s.CoreV1Api(api)
        for ns in core.list_namespace(label_selector=LABEL, _request_timeout=15).items:
            rid = (ns.metadata.labels or {}).get(LABEL)
            if not rid:
                continue
            raw = (ns.metadata.annotations or {}).get(OWNER_ANNOTATION, "{}")
            try:
                out[rid] = Owner.from_labels(json.loads(raw))
            except (ValueError, BadInput):
                out[rid] = None
    return out


def remove_labelled(run_id: str) -> list[str]:
    """Delete the namespace of ``run_id`` and wait until it is gone; what was removed."""
    from kubernetes import client as k8s

    with api_client() as api:
        core = k8s.CoreV1Api(api)
        name = _ns(run_id)
        return [f"namespace {name}"] if delete_namespace(core, name, wait=True) else []


def _phase(pod: Any) -> str:
    return str(pod.status.phase or "") if pod.status is not None else ""


def _pod_state(pod: Any) -> str:
    statuses = [*(pod.status.container_statuses or []), *(pod.status.ephemeral_container_statuses or [])]
    waiting = [f"{s.name}: {s.state.waiting.reason}" for s in statuses if s.state and s.state.waiting]
    return f"phase {_phase(pod)}" + (f", {'; '.join(waiting)}" if waiting else "")


def _has_ip(pod: Any) -> bool:
    return _phase(pod) == "Running" and bool(pod.status.pod_ip)


def _ephemeral_running(pod: Any, name: str) -> bool:
    for s in pod.status.ephemeral_container_statuses or []:
        if s.name == name and s.state is not None and s.state.running is not None:
            return True
    return False


def _is_api_error(e: BaseException) -> bool:
    return type(e).__name__ == "ApiException" or type(e).__module__.startswith("urllib3")


def _status(e: BaseException) -> int | None:
    return getattr(e, "status", None)


def _why(e: BaseException) -> str:
    body = getattr(e, "body", None)
    if body:
        with contextlib.suppress(ValueError, TypeError):
            return str(json.loads(body).get("message", body))[:200]
    return f"{type(e).__name__}: {getattr(e, 'reason', None) or e}"[:200]


__all__ = ["KUBERNETES", "KubernetesBackend", "kube_reachable", "labelled_runs", "remove_labelled"]
