"""Declared targets on a real engine and the runner (issue 23): a node's declared files, first start and
start-after run inside its container; ``chaos build`` shows a line per build step and keeps the log; a hung
readiness command on docker ends with "not ready within" instead of holding the run; a pinned kv worker stays
on its node."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.declare import load_target
from harness.errors import InfrastructureError
from harness.history import read_jsonl
from harness.loader import loads
from harness.platform import open_cluster
from harness.run import run_experiment

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

DECL = """\
name: files-demo
backends: [docker]
ports: {web: 8080}
image: {packages: [iputils-ping]}
joins: {all: {join: " ", over: nodes, each: "{member}={member.host}"}}
files:
  - {path: www/conf.txt, content: "me={node} all={join.all} brace={{x}}\\n", mode: "0444"}
command: [python3, -m, http.server, "{port.web}", --bind, "{bind}", --directory, "{data_dir}/www"]
roles:
  - name: first
    nodes: [n1]
    first_start: {run: [[python3, -c, "open('{data_dir}/www/boot.txt', 'a').write('once')"]]}
  - name: later
    nodes: rest
    start_after: {tcp: "{role.first.host}:{port.web}", first: true, timeout: 60}
ready: {http: {port: web, path: /conf.txt}}
client: chaos_examples.redis.client:RedisClient
"""


def test_declared_files_first_start_and_start_after_run_in_the_containers(
    docker_backend: str, tmp_path: Path
) -> None:
    (tmp_path / "target.yaml").write_text(DECL)
    target = load_target(tmp_path / "target.yaml")
    with open_cluster(target, nodes=2, backend=docker_backend) as cluster:
        cluster.wait_ready(timeout=90)
        be = cluster.backend
        data = cluster.contexts["n1"].data_dir
        read = "import urllib.request as u, sys; u.urlopen('http://n1:8080/' + sys.argv[1]).read()"
        assert be.run_command("n2", ("python3", "-c", read, "conf.txt"), {}, 10) == 0  # n1 serves it to n2
        node1 = be.client.containers.get(be._name("n1"))
        conf = node1.exec_run(["cat", f"{data}/www/conf.txt"]).output.decode()
        assert conf == "me=n1 all=n1=n1 n2=n2 brace={x}\n"
        mode = node1.exec_run(["stat", "-c", "%a", f"{data}/www/conf.txt"])
        assert mode.output.decode().strip() == "444"
        cluster.kill("n1")
        cluster.start("n1")
        cluster.wait_ready(timeout=60)
        boot = node1.exec_run(["cat", f"{data}/www/boot.txt"]).output.decode()
        assert boot == "once"  # the first-start command ran once, not again after the kill
        logs = be.logs()
        assert "answered; starting" in logs["n2"]  # n2 waited for n1


def test_chaos_build_prints_each_step_and_keeps_the_log(docker_backend: str, tmp_path: Path) -> None:
    marker = uuid.uuid4().hex[:12]  # a new image every time: the build really runs
    (tmp_path / "target.yaml").write_text(
        DECL.replace("image: {packages: [iputils-ping]}", f"image: {{lines: ['RUN echo {marker}']}}")
    )
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "build", str(tmp_path / "target.yaml")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "building image chaos-harness/node:" in out.stderr and "; log: " in out.stderr
    assert "Step 1/" in out.stderr and re.search(rf"\] Step 3/\d+ : RUN echo {marker}\n", out.stderr)
    log = Path(out.stderr.split("; log: ")[1].split()[0])
    assert marker in log.read_text()
    again = subprocess.run(
        [sys.executable, "-m", "harness.cli", "build", str(tmp_path / "target.yaml")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert again.returncode == 0 and "building image" not in again.stderr  # cached by its content hash
    subprocess.run(["docker", "rmi", "-f", out.stdout.split()[-1]], capture_output=True, timeout=60)


def test_a_hung_readiness_command_on_docker_ends_not_ready(docker_backend: str, tmp_path: Path) -> None:
    (tmp_path / "target.yaml").write_text(
        DECL.replace("ready: {http: {port: web, path: /conf.txt}}", "ready: {command: [sleep, '100000']}")
    )
    target = load_target(tmp_path / "target.yaml")
    with open_cluster(target, nodes=2, backend=docker_backend) as cluster:
        assert cluster.backend.run_command("n1", ("sleep", "100000"), {}, 1.0) == 124
        with pytest.raises(InfrastructureError, match="not ready within"):
            cluster.wait_ready(timeout=4)


def test_a_pinned_kv_worker_stays_on_one_node(local_backend: str, tmp_path: Path) -> None:
    """The runner hands a pinned worker's client its node alone, also as a fresh process; final reads are not
    pinned; the read-only worker only reads."""
    from chaos_targets.kv.target import KvTarget
    from harness.registry import Registries

    given: dict[int, list[str]] = {}

    class Recording(KvTarget):  # type: ignore[misc]
        def client(self, nodes: Any, process: int, timeout: float) -> Any:
            given[process] = sorted(nodes)
            return super().client(nodes, process, timeout)

    exp = loads(
        "expect: valid\ntarget: {name: kv, nodes: 3, backend: local}\n"
        "workload: {duration: 5, concurrency: 3, rate: 60, timeout: 0.3,\n"
        "           options: {pin: true, read_only: 1}}\n"
        "faults: {steps: [{kind: pause, nodes: [n2], at: 1, duration: 3}]}\n"
        "phases: {warmup: 0.5, cooldown: 0.5, recovery: 1, final: true}\n",
        str(tmp_path / "pin.yaml"),
    )
    reg = Registries.of(targets={"kv": Recording})
    outcome = run_experiment(exp, seed=3, out=tmp_path / "reports", registries=reg)
    workers = {p: nodes for p, nodes in given.items() if p < 1000}
    finals = {p: nodes for p, nodes in given.items() if p >= 1000}
    # a fresh process came: n2 was paused past the client timeout, so its worker's request ended info (a kill
    # is not enough: clients dial nodes directly, and a refused connection is a certain fail, not info)
    assert {p % 3 for p in workers} == {0, 1, 2} and max(workers) >= 3
    assert all(nodes == [["n1", "n2", "n3"][p % 3]] for p, nodes in workers.items()), workers
    assert finals and all(nodes == ["n1", "n2", "n3"] for nodes in finals.values())
    history = read_jsonl(outcome.bundle.path / "history.jsonl")
    first_worker = [op for op in history if isinstance(op.process, int) and op.process < 1000]
    assert {op.f for op in first_worker if op.process % 3 == 0} == {"read"}
