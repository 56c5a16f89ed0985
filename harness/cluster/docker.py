"""The ``docker`` backend: the only module that imports the docker SDK.

Per run: one user-defined ``internal`` network ``chaos-<run>`` (no route out), a Toxiproxy container on it
(API on its own network address, never on a host address) and one container per node, all from the target
image and all labelled ``chaos-harness.run=<run>`` plus the owner record (``harness.cluster.owner``).
Creation calls are shielded from interrupts so what they made is recorded; ``close`` also sweeps by label.
Containers run as ``nobody`` with every capability
dropped. The host reaches the containers at their addresses on the run's network (dockerd runs with
``--iptables=false``). Node logs are read before the containers are removed, also when the run fails.
``python -m harness.cluster.docker build-image`` builds the target image if its content hash is new.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from harness.cluster import image
from harness.cluster.base import NodeAddrs, ProxyHosts
from harness.cluster.owner import Owner
from harness.cluster.rundir import LABEL, RunDir
from harness.errors import HarnessError, InfrastructureError
from harness.interrupts import shielded
from harness.net.server import require_toxiproxy
from harness.target import Addr, NodeContext, NodeSpec

API_PORT = 8474
PROXY_BASE_PORT = 20000
NODE_PORT = 7000
USER = "65534:65534"
FIX = "run scripts/setup (it installs and starts dockerd) or use the local backend"


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


class DockerBackend:
    """Containers on a per-run internal network; see the module docstring."""

    name = "docker"
    data_root = "/tmp/chaos-data"

    def __init__(self, run: RunDir) -> None:
        self.run = run
        owner = run.owner()  # on every container and network, so any checkout can tell whether it is live
        self.labels = {LABEL: run.run_id, **(owner.labels() if owner is not None else {})}
        self.client = client()
        self._containers: dict[str, Container] = {}
        self._final_logs: dict[str, str] = {}
        self._toxi: Container | None = None
        try:
            self.image = ensure_image(self.client)
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

    def _run(self, what: str, command: list[str], extra_labels: dict[str, str], **kw: Any) -> Container:
        """Create and start a container; callers record it inside the same shield (see ``start_node``)."""
        try:
            return self.client.containers.run(
                self.image,
                command,
                name=self._name(what),
                hostname=what,
                network=self.network.name,
                labels={**self.labels, **extra_labels},
                user=USER,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                # a stopped container's name must fail to resolve fast, not after 10 s (no outside resolver)
                dns=["127.0.0.1"],
                dns_opt=["timeout:1", "attempts:1"],
                detach=True,
                **kw,
            )
        except docker.errors.APIError as e:
            raise InfrastructureError(
                f"docker: cannot start container {self._name(what)}: {e.explanation}"
            ) from None

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

    def node_addrs(self, node: str) -> NodeAddrs:
        return NodeAddrs(Addr("0.0.0.0", NODE_PORT), Addr(self._name(node), NODE_PORT))

    def start_node(self, ctx: NodeContext, spec: NodeSpec) -> None:
        with shielded():
            self._containers[ctx.node] = self._run(
                ctx.node,
                list(spec.argv),
                {"chaos-harness.role": "node", "chaos-harness.node": ctx.node},
                environment=dict(spec.env),
                working_dir="/app",
            )

    def direct_addr(self, node: str) -> Addr:
        return Addr(self._ip(self._containers[node]), NODE_PORT)

    def _c(self, node: str) -> Container:
        return self._containers[node]

    def running(self, node: str) -> bool:
        c = self._c(node)
        c.reload()
        return c.status in ("running", "paused")

    def states(self) -> dict[str, str]:
        """Every node's state from one engine query: running, paused or down."""
        found = {
            str(c.labels.get("chaos-harness.node")): str(c.status)
            for c in self.client.containers.list(
                all=True, filters={"label": [f"{LABEL}={self.run.run_id}", "chaos-harness.role=node"]}
            )
        }
        ok = ("running", "paused")
        return {n: s if (s := found.get(n, "down")) in ok else "down" for n in self._containers}

    def start(self, node: str) -> None:
        if not self.running(node):
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
        self._c(node).pause()

    def resume(self, node: str) -> None:
        self._c(node).unpause()

    def logs(self) -> dict[str, str]:
        out = dict(self._final_logs)
        for node, c in self._containers.items():
            with contextlib.suppress(docker.errors.DockerException):
                out[node] = c.logs().decode("utf-8", errors="replace")
        return out

    def close(self) -> None:
        """Remove what the run recorded, then everything labelled with its id (also what an interrupted
        call created without our knowing)."""
        with shielded():
            self._final_logs = self.logs()
            for c in [*self._containers.values(), *([self._toxi] if self._toxi else [])]:
                with contextlib.suppress(docker.errors.DockerException):
                    c.remove(force=True)
            with contextlib.suppress(docker.errors.DockerException):
                self.network.remove()
            with contextlib.suppress(docker.errors.DockerException):
                sweep_labelled(self.client, self.run.run_id)
            self.client.close()


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


def main(argv: list[str]) -> int:
    if argv != ["build-image"]:
        print("usage: python -m harness.cluster.docker build-image", file=sys.stderr)
        return 3
    try:
        print(f"target image: {ensure_image(client())}")
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
