"""Issue 23's declaration features: a client beside target.yaml, declared files, joins inside strings, image
extras, first start and start-after (the node-side launcher, run for real as a subprocess), ``ready:
running``, run_as, role probes, bounded declaration files, and declarations of the old schema unchanged."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness.cluster import readiness
from harness.declare import load_declaration, load_target, loads_declaration
from harness.declare.adapter import LAUNCHER
from harness.declare.launch import MARKER
from harness.errors import BadInput
from harness.target import Addr, ImageBuild, NodeContext, Readiness

ROOT = Path(__file__).resolve().parents[3]
NODES = ("n1", "n2", "n3")
BASE = """\
name: demo
ports: {client: 7000, peer: 7001}
command: [demo-server, --id, "{node}"]
client: chaos_examples.redis.client:RedisClient
"""


def ctx(node: str, data_dir: str = "/data", backend: str = "docker") -> NodeContext:
    ports = {"client": 7000, "peer": 7001}
    return NodeContext(
        node=node,
        nodes=NODES,
        listen=Addr("0.0.0.0", 7000),
        peers={},
        data_dir=data_dir,
        host=node,
        ports=ports,
        peer_addrs={n: {p: Addr(n, v) for p, v in ports.items()} for n in NODES if n != node},
        backend=backend,
    )


def test_a_client_module_beside_the_declaration_imports_without_pythonpath(tmp_path: Path) -> None:
    (tmp_path / "zz_beside_client.py").write_text(
        "class C:\n"
        "    def __init__(self, nodes, process, timeout, context=None, roles=None):\n"
        "        self.nodes, self.roles = dict(nodes), roles\n"
        "    def invoke(self, f, v): ...\n"
        "    def close(self): ...\n"
    )
    decl = BASE.replace("chaos_examples.redis.client:RedisClient", "zz_beside_client:C")
    (tmp_path / "target.yaml").write_text(decl)
    assert str(tmp_path) not in sys.path
    t = load_target(tmp_path / "target.yaml")
    client = t.client({"n1": Addr("h", 1)}, 0, 1.0)
    assert type(client).__name__ == "C" and client.nodes == {"n1": Addr("h", 1)}


def test_a_client_module_name_taken_by_another_folder_is_refused_naming_both(tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "zz_same_name.py").write_text("class C:\n    pass\n")
        (tmp_path / d / "target.yaml").write_text(
            BASE.replace("chaos_examples.redis.client:RedisClient", "zz_same_name:C")
        )
    load_declaration(tmp_path / "a" / "target.yaml")
    with pytest.raises(BadInput, match=r"client.*zz_same_name is already imported from .*a/zz_same_name.py"):
        load_declaration(tmp_path / "b" / "target.yaml")


FILES = BASE + """\
joins:
  peers: {join: ",", over: nodes, each: "{member}:{member.port.peer}"}
  lines: {join: "\\n", over: nodes, each: "server.{member.index}={member.host}"}
files:
  - path: conf/demo.cfg
    content: |
      id = {index}
      {join.lines}
      literal = {{"a": 1}}
  - {path: /tmp/raw.py, content: "print({'raw': True})", template: false, mode: "0400"}
env: {PEERS: "--peers={join.peers}"}
"""


def test_files_render_per_node_with_joins_inside_strings_and_escaped_braces() -> None:
    t = load_target_text(FILES)
    spec = t.node_spec(ctx("n2"))
    assert spec.argv[:2] == ("python3", "-c") and spec.argv[2] == LAUNCHER  # the launcher runs the node
    plan = json.loads(spec.argv[3])
    assert plan["argv"] == ["demo-server", "--id", "n2"]
    cfg, raw = plan["files"]
    assert cfg["path"] == "conf/demo.cfg" and cfg["mode"] == 0o644
    assert cfg["content"] == "id = 2\nserver.1=n1\nserver.2=n2\nserver.3=n3\nliteral = {\"a\": 1}\n"
    assert raw == {"path": "/tmp/raw.py", "content": "print({'raw': True})", "mode": 0o400}
    assert spec.env["PEERS"] == "--peers=n1:7001,n2:7001,n3:7001"


def load_target_text(text: str) -> Any:
    from harness.declare.adapter import DeclaredTarget

    return DeclaredTarget(loads_declaration(text, "t.yaml"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("files: [{path: x, content: '{nope}'}]\n", "t.yaml:5: files[0].content: {nope}: unknown field"),
        ("env: {A: '{join.missing}'}\n", "t.yaml:5: env.A: {join.missing}: no join 'missing'"),
        ("files: [{path: x, content: 'a { b'}]\n", "unmatched '{' at character 3 of 'a { b'; write {{ for a"),
        ("first_start: {command: [a], args: [b]}\n", "t.yaml:5: first_start: say command (replaces"),
        ("start_after: {timeout: 3}\n", "t.yaml:5: start_after: say what to wait for"),
        ("ready: {running: true, tcp: client}\n", "t.yaml:5: ready: {'running': True, 'tcp': 'client'} has"),
    ],
)
def test_mistakes_in_the_new_fields_name_file_line_and_field(extra: str, message: str) -> None:
    with pytest.raises(BadInput) as e:
        loads_declaration(BASE + extra, "t.yaml")
    assert message in str(e.value)


def test_image_extras_become_dockerfile_lines() -> None:
    t = load_target_text(
        BASE + "image:\n  packages: [curl]\n  pip: [kazoo==2.10.0]\n"
        "  files: [{path: /etc/demo/x.cfg, content: \"a=1\\n\", mode: \"0600\"}]\n"
        "  lines: [RUN mkdir -p /srv/demo]\n"
    )
    (img,) = t.images
    assert isinstance(img, ImageBuild) and img.packages == ("curl", "python3-pip")
    pip, write, extra = img.lines
    assert pip == "RUN python3 -m pip install --no-cache-dir --break-system-packages kazoo==2.10.0"
    assert "base64 -d > /etc/demo/x.cfg && chmod 600 /etc/demo/x.cfg" in write and "YT0xCg==" in write
    assert extra == "RUN mkdir -p /srv/demo"


def test_ready_running_is_declared_and_probes_the_process() -> None:
    t = load_target_text(BASE + "ready: {running: true}\n")
    assert t.node_spec(ctx("n1")).ready == Readiness("running")

    class Fake:
        def __init__(self, up: bool) -> None:
            self.up = up

        def running(self, node: str) -> bool:
            return self.up

    assert readiness.probe(Fake(True), "n1", Readiness("running")) == (True, "its process runs")
    assert readiness.probe(Fake(False), "n1", Readiness("running"))[0] is False


def test_the_default_readiness_failure_says_how_to_declare_a_node_that_serves_nothing() -> None:
    class Closed:
        def direct_addr(self, node: str, port: str | None = None) -> Addr:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            return Addr("127.0.0.1", port)

    ok, why = readiness.probe(Closed(), "n1", None)
    assert not ok and "declare ready: {running: true}" in why


def test_role_probes_are_declared_and_the_old_schema_still_loads() -> None:
    decl = loads_declaration(BASE + "role_probes: {leader: {command: [is-leader, '{node}']}}\n", "t.yaml")
    assert list(decl.probes) == ["leader"]
    for name in ("etcd", "redis", "postgres", "rabbitmq"):
        load_declaration(ROOT / "examples" / name / "target.yaml")
    old = load_target_text(BASE)  # today's schema: no launcher, the argv as written
    assert old.node_spec(ctx("n1")).argv == ("demo-server", "--id", "n1")


def test_declaration_files_are_bounded_like_experiments(tmp_path: Path) -> None:
    big = tmp_path / "target.yaml"
    big.write_text(BASE + "#" * (1 << 20) + "\n")
    with pytest.raises(BadInput, match="larger than a target declaration file may be"):
        load_declaration(big)
    if Path("/dev/zero").exists():
        with pytest.raises(BadInput, match="/dev/zero: .*larger than a target declaration file may be"):
            load_declaration("/dev/zero")


# -- the launcher, run for real -------------------------------------------------------------------------


def launch(spec: dict[str, Any], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", LAUNCHER, json.dumps(spec)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def node_spec_for(tmp_path: Path, extra: str) -> dict[str, Any]:
    t = load_target_text(
        "name: demo\nports: {client: 7000}\n"
        f"command: [{sys.executable}, -c, \"import os; print('run', sorted(os.listdir('{{data_dir}}')))\"]\n"
        "client: chaos_examples.redis.client:RedisClient\n" + extra
    )
    plan = t.launch_plan(ctx("n1", data_dir=str(tmp_path / "d"), backend="local"))
    assert plan is not None
    return plan


def test_files_are_written_with_their_mode_before_every_start(tmp_path: Path) -> None:
    spec = node_spec_for(tmp_path, "files: [{path: secret, content: 'k-{node}', mode: '0400'}]\n")
    first = launch(spec)
    assert first.returncode == 0, first.stderr
    secret = tmp_path / "d" / "secret"
    assert secret.read_text() == "k-n1" and (secret.stat().st_mode & 0o777) == 0o400
    assert "run ['.chaos-first-start-done', 'secret']" in first.stdout
    assert launch(spec).returncode == 0  # a read-only file from the last start is written again


def test_first_start_runs_its_commands_once_and_restarts_run_the_usual_command(tmp_path: Path) -> None:
    py = sys.executable
    extra = (
        "first_start:\n"
        f"  run: [[{py}, -c, \"open('{{data_dir}}/init', 'a').write('x')\"]]\n"
        "  args: [--first]\n"
    )
    spec = node_spec_for(tmp_path, extra)
    spec["argv"] = [py, "-c", "import sys; print('argv', sys.argv[1:])"]
    spec["first_start"]["argv"] = [*spec["argv"], "--first"]
    one, two = launch(spec), launch(spec)
    assert "argv ['--first']" in one.stdout and "argv []" in two.stdout
    assert (tmp_path / "d" / "init").read_text() == "x" and (tmp_path / "d" / MARKER).exists()


def test_unless_exists_makes_every_start_before_that_path_exists_a_first_start(tmp_path: Path) -> None:
    py = sys.executable
    spec = node_spec_for(tmp_path, "first_start: {unless_exists: made, run: [['false']]}\n")
    failed = launch(spec)
    assert failed.returncode == 1 and "first start: false exited 1; the node does not start" in failed.stderr
    spec["first_start"]["run"] = [[py, "-c", f"open('{tmp_path}/d/made', 'w')"]]
    assert launch(spec).returncode == 0
    spec["first_start"]["run"] = [["false"]]  # not run again: the path exists
    assert launch(spec).returncode == 0


def test_start_after_waits_for_a_peer_then_starts(tmp_path: Path) -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    spec = node_spec_for(tmp_path, f"start_after: {{tcp: '127.0.0.1:{port}', timeout: 120}}\n")

    def listen_later() -> None:
        time.sleep(1.5)
        srv.listen(1)

    threading.Thread(target=listen_later, daemon=True).start()
    try:
        out = launch(spec)
    finally:
        srv.close()
    assert out.returncode == 0
    assert f"waiting for 127.0.0.1:{port} before starting" in out.stderr
    assert f"127.0.0.1:{port} answered; starting" in out.stderr


def test_start_after_gives_up_after_its_timeout_and_starts_anyway(tmp_path: Path) -> None:
    spec = node_spec_for(tmp_path, "start_after: {command: ['false'], timeout: 1, first: true}\n")
    out = launch(spec)
    assert out.returncode == 0 and "did not answer within 1.0 s; starting anyway" in out.stderr
    again = launch(spec)  # first: true -> a restart does not wait
    assert "waiting" not in again.stderr


def test_run_as_gives_the_data_dir_to_the_user_and_becomes_it_when_started_as_root() -> None:
    import pwd
    import shutil
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="chaos-run-as-"))  # pytest's own tmp root is private to root
    try:
        os.chmod(home, 0o755)
        spec = node_spec_for(home, "run_as: nobody\nfiles: [{path: f, content: x}]\n")
        spec["argv"] = ["id", "-u"]
        out = launch(spec)
        # as root (CI, the local backend run by root) it becomes nobody; otherwise it stays who it is
        want = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
        assert out.stdout.strip() == str(want), out.stderr
        assert (home / "d" / "f").stat().st_uid == want
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_dry_run_shows_declared_files_waits_and_first_start_as_they_will_run() -> None:
    from harness.loader import load
    from harness.plan import format_plan, resolve_plan

    text = format_plan(resolve_plan(load(ROOT / "experiments" / "rabbitmq-quorum.yaml"), seed=1))
    assert "  command: /usr/lib/rabbitmq/bin/rabbitmq-server\n" in text and "python3 -c" not in text
    assert "  file:    .erlang.cookie (mode 400, 22 bytes)" in text
    assert "           | cluster_formation.classic_config.nodes.3 = rabbit@n3" in text
    assert "  after:   n1:5672 answers (first start; at most 120 s)" in text
    pg = format_plan(resolve_plan(load(ROOT / "experiments" / "postgres-primary-only.yaml"), seed=1))
    assert "  first:   run /usr/lib/postgresql/15/bin/initdb -D" in pg
    assert "  first:   whenever pgdata/PG_VERSION does not exist" in pg


def test_chaos_build_refuses_an_unknown_target_in_one_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "build", "no-such-target"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 3 and "unknown target 'no-such-target'" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_role_probe_finds_the_holders_at_run_time() -> None:
    t = load_target_text(BASE + "role_probes: {leader: {command: [is-leader, '{node}', '{port.client}']}}\n")

    class Backend:
        def __init__(self) -> None:
            self.ran: list[tuple[str, tuple[str, ...]]] = []

        def run_command(self, node: str, argv: tuple[str, ...], env: Any, timeout: float) -> int:
            self.ran.append((node, argv))
            return 0 if node == "n2" else 1

    class Cluster:
        nodes = NODES
        contexts = {n: ctx(n) for n in NODES}
        backend = Backend()

    assert t.role_holders("leader", Cluster()) == ("n2",)
    assert Cluster.backend.ran[0] == ("n1", ("is-leader", "n1", "7000"))
    with pytest.raises(BadInput, match="no role probe 'primary'; declared: leader"):
        t.role_holders("primary", Cluster())


def test_a_file_the_node_cannot_write_ends_the_launcher_in_one_line(tmp_path: Path) -> None:
    spec = node_spec_for(tmp_path, "files: [{path: /proc/chaos-no-such/x, content: y}]\n")
    out = launch(spec)
    assert out.returncode == 1 and "cannot write declared file /proc/chaos-no-such/x" in out.stderr
    assert "Traceback" not in out.stderr
