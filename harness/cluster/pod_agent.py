"""The agent inside each pod of the ``kubernetes`` backend: it runs the node's process and loads its rules.

Every pod of a run has two containers sharing one network namespace, each running this file's ``main`` as its
first process (``python3 -u -c <this file's text>``; it imports only the standard library, so any image with
``python3`` can carry it):

- ``node`` (the target's image, no capabilities): the *supervisor*. It starts the target's command when the
  harness asks (argv, env, working directory), in its own session, its output appended to a log file, and
  sends the whole process tree SIGKILL / SIGTERM / SIGSTOP / SIGCONT on request, so kill, restart and pause
  act on the target's process while the pod, its address and its data directory (an ``emptyDir``) stay.
  Being the container's first process, it reaps every orphan.
- ``net`` (the base image, ``NET_ADMIN``): loads ``iptables-restore`` rule sets and ``tc`` scripts into the
  pod's network namespace; the target never holds that capability.

The harness speaks to both over TCP on the pod's address (``CHAOS_AGENT_PORT``): one JSON object per line in
each direction, every request carrying the run's token (``CHAOS_AGENT_TOKEN``). The packet filters the
backend loads always accept the agents' ports first, so a partition or a cut client link never cuts the
harness off its own controls.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from typing import Any

LOG = "/tmp/chaos-node.log"
MAX_LOG = 8 * 1024 * 1024  # what ``logs`` returns at most: the tail
TOOLS = {"ipt": ["iptables-restore"], "tc": ["tc", "-batch", "-"], "tcf": ["tc", "-force", "-batch", "-"]}


class Supervised:
    """The target's process (at most one at a time) and the exit codes the reaper collected."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.exited: dict[int, int] = {}
        self.lock = threading.Lock()

    def reap_forever(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.05)
                continue
            with self.lock:
                self.exited[pid] = os.waitstatus_to_exitcode(status)

    def running(self) -> bool:
        with self.lock:
            return self.pid is not None and self.pid not in self.exited

    def state(self) -> str:
        if not self.running():
            return "down"
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                stat = f.read()
            return "paused" if stat[stat.rfind(")") + 2 :].split()[0] in ("T", "t") else "running"
        except (OSError, IndexError):
            return "down"

    def start(self, argv: list[str], env: dict[str, str], cwd: str | None) -> None:
        if self.running():
            return
        log = os.open(LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            pid = _spawn(argv, env, cwd, log)
        finally:
            os.close(log)
        with self.lock:
            self.pid = pid

    def tree(self) -> list[int]:
        """The target's process and every live descendant (a child that called setsid included)."""
        if self.pid is None:
            return []
        children: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rfind(")") + 2 :].split()[1]), []).append(int(name))
        out, todo = [self.pid], list(children.get(self.pid, []))
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    def signal(self, sig: int) -> None:
        pids = self.tree()
        if self.pid is not None:
            try:
                os.killpg(self.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def wait_down(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.running():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.signal(signal.SIGCONT)
        self.wait_down(10)

    def stop(self, grace: float) -> None:
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        if not self.wait_down(grace):
            self.kill()


def _spawn(argv: list[str], env: dict[str, str], cwd: str | None, log: int) -> int:
    """Fork; in the child: the working directory, a new session, stdin from /dev/null, output to ``log``,
    then exec."""
    pid = os.fork()
    if pid == 0:  # the child: nothing here may return
        try:
            if cwd:
                os.chdir(cwd)
            os.setsid()
            fd = os.open("/dev/null", os.O_RDONLY)
            os.dup2(fd, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.execvpe(argv[0], argv, {**os.environ, **env, "PYTHONUNBUFFERED": "1"})
        except BaseException as e:  # noqa: BLE001 - the exec failed: say so in the node's log
            os.write(2, f"chaos agent: cannot start {argv[0]}: {e}\n".encode())
        os._exit(127)
    return pid


def run_tool(argv: list[str], data: str, timeout: float) -> tuple[int, str]:
    try:
        r = subprocess.run(argv, input=data.encode(), capture_output=True, timeout=timeout)
        return r.returncode, (r.stderr or r.stdout).decode(errors="replace")
    except subprocess.TimeoutExpired:
        return 124, f"{argv[0]}: timed out after {timeout:g} s"
    except OSError as e:
        return 127, f"{argv[0]}: {e}"


def handle(req: dict[str, Any], node: Supervised, peer: str) -> dict[str, Any]:
    op = req.get("op")
    if op == "hello":
        return {"ok": True, "peer": peer, "role": os.environ.get("CHAOS_AGENT_ROLE", "")}
    if op == "start":
        node.start(list(req["argv"]), dict(req.get("env") or {}), req.get("cwd"))
        return {"ok": True}
    if op == "kill":
        node.kill()
        return {"ok": True}
    if op == "stop":
        node.stop(float(req.get("grace", 5)))
        return {"ok": True}
    if op == "pause":
        node.signal(signal.SIGSTOP)
        return {"ok": True}
    if op == "resume":
        node.signal(signal.SIGCONT)
        return {"ok": True}
    if op == "state":
        return {"ok": True, "state": node.state()}
    if op == "logs":
        try:
            with open(LOG, "rb") as f:
                f.seek(max(0, os.path.getsize(LOG) - MAX_LOG))
                return {"ok": True, "text": f.read().decode(errors="replace")}
        except OSError:
            return {"ok": True, "text": ""}
    if op == "exec":  # ``capture``: the command's output too (bounded), for tests and diagnosis
        env = {**os.environ, **dict(req.get("env") or {})}
        capture = bool(req.get("capture"))
        sink = subprocess.PIPE if capture else subprocess.DEVNULL
        try:
            r = subprocess.run(
                list(req["argv"]),
                env=env,
                cwd=req.get("cwd"),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT if capture else subprocess.DEVNULL,
                timeout=float(req.get("timeout", 5)),
            )
            out = (r.stdout or b"")[-65536:].decode(errors="replace") if capture else ""
            return {"ok": True, "code": r.returncode, "output": out}
        except subprocess.TimeoutExpired:
            return {"ok": True, "code": 124, "output": ""}
        except OSError as e:
            return {"ok": True, "code": 127, "output": str(e)}
    if op == "mkdir":
        os.makedirs(str(req["path"]), exist_ok=True)
        return {"ok": True}
    if op in TOOLS:
        code, err = run_tool(TOOLS[op], str(req.get("data", "")), 20)
        return {"ok": True, "code": code, "err": " ".join(err.split())[:300]}
    return {"ok": False, "error": f"unknown op {op!r}"}


def main() -> None:
    token = os.environ.get("CHAOS_AGENT_TOKEN", "")
    port = int(os.environ.get("CHAOS_AGENT_PORT", "39990"))
    node = Supervised()
    threading.Thread(target=node.reap_forever, daemon=True).start()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            peer = self.client_address[0]
            for line in self.rfile:
                try:
                    req = json.loads(line)
                    if not token or req.get("token") != token:
                        out: dict[str, Any] = {"ok": False, "error": "bad token"}
                    else:
                        out = handle(req, node, peer)
                except Exception as e:  # noqa: BLE001 - one bad request must not end the agent
                    out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
                self.wfile.write((json.dumps(out) + "\n").encode())
                self.wfile.flush()

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True
        address_family = socket.AF_INET

    def bye(*_: object) -> None:  # the pod is being deleted: take the target down with it
        node.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, bye)
    with Server(("0.0.0.0", port), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
