"""The node-side launcher of a declared target: files, first start and start-after, then ``exec`` the node.

A declaration with ``files``, ``first_start`` or ``start_after`` runs each node as
``python3 -c <this module's source> <spec as JSON>`` (``adapter.node_spec`` builds it; the argv is already
rendered, nothing here reads templates). Before the node's program starts it

1. writes every declared file (parent folders made, then the mode set), on every start;
2. waits, when ``start_after`` says so, until one ``tcp`` address accepts a connection or the ``command``
   exits 0 -- at most ``timeout`` seconds, then starts anyway and says so in the node's log;
3. when started as root and the declaration says ``run_as: USER``: gives the data dir to that user and
   becomes it (PostgreSQL refuses to run as root; the local backend run by root starts nodes as root);
4. on the first start (no marker in the data dir, or ``unless_exists`` absent) runs the ``run`` commands to
   completion (a failing one ends the launcher with its exit code: the node is down, its log says why) and
   uses the first-start argv; writes the marker;
5. replaces itself with the node's program (``os.execvp``: same pid, so kill / pause / stop hit the program).

It imports only the standard library: on docker it runs inside the node's image (which needs ``python3``;
images built from the base image have it), on local with the harness's interpreter.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

MARKER = ".chaos-first-start-done"


def _say(msg: str) -> None:
    print(f"[chaos launcher] {msg}", file=sys.stderr, flush=True)


def write_files(files: list[dict[str, Any]], data_dir: str) -> None:
    for f in files:
        path = os.path.join(data_dir, f["path"])  # an absolute path stays as it is
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            if os.path.exists(path):
                os.chmod(path, 0o600)  # a read-only file from the previous start must be writable again
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(f["content"])
                fh.flush()
                os.fsync(fh.fileno())  # durable before the node starts: a power cut must not take it
            os.chmod(path, int(f["mode"]))
            _sync_dir(os.path.dirname(path) or ".")
        except OSError as e:
            _say(f"cannot write declared file {path}: {e.strerror or e} (docker nodes run unprivileged: "
                 "write inside the data dir, or bake it into the image with image.files)")
            raise SystemExit(1) from None


def _sync_dir(path: str) -> None:
    """fsync a directory, so the names made in it survive a power cut (lose-unsynced faults drop them)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _tcp_open(addr: str) -> bool:
    host, _, port = addr.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except (OSError, ValueError):
        return False


def _command_ok(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def wait_after(after: dict[str, Any]) -> bool:
    """Whether what ``after`` waits for answered within its timeout."""
    deadline = time.monotonic() + float(after.get("timeout", 60))
    tcp, command = list(after.get("tcp") or []), list(after.get("command") or [])
    what = " or ".join([*tcp, *([" ".join(command)] if command else [])])
    _say(f"waiting for {what} before starting")
    while True:
        if any(_tcp_open(a) for a in tcp) or (command and _command_ok(command)):
            _say(f"{what} answered; starting")
            return True
        if time.monotonic() >= deadline:
            _say(f"{what} did not answer within {after.get('timeout', 60)} s; starting anyway")
            return False
        time.sleep(0.5)


def become(user: str, data_dir: str) -> None:
    """Give ``data_dir`` to ``user`` and become that user (only when running as root)."""
    if os.geteuid() != 0:
        return
    import pwd

    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(data_dir):
        for name in [root, *(os.path.join(root, x) for x in [*dirs, *files])]:
            os.lchown(name, pw.pw_uid, pw.pw_gid)
    os.initgroups(user, pw.pw_gid)
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)


def is_first(spec: dict[str, Any]) -> bool:
    first = spec.get("first_start") or {}
    probe = first.get("unless_exists")
    if probe:
        return not os.path.exists(os.path.join(spec["data_dir"], probe))
    return not os.path.exists(os.path.join(spec["data_dir"], MARKER))


def prepare(spec: dict[str, Any]) -> list[str]:
    """Everything before the exec (steps 1-3 of the module docstring); returns the argv to exec."""
    data_dir = spec["data_dir"]
    os.makedirs(data_dir, exist_ok=True)
    write_files(spec.get("files") or [], data_dir)
    if spec.get("run_as"):
        become(spec["run_as"], data_dir)
    first = is_first(spec)
    after = spec.get("start_after")
    if after and (first or not after.get("first")):
        wait_after(after)
    argv = list(spec["argv"])
    fs = spec.get("first_start")
    if first and fs:
        for cmd in fs.get("run") or []:
            _say(f"first start: running {' '.join(cmd)}")
            code = subprocess.run(cmd, stdin=subprocess.DEVNULL).returncode
            if code != 0:
                _say(f"first start: {' '.join(cmd)} exited {code}; the node does not start")
                raise SystemExit(code)
        argv = list(fs.get("argv") or argv)
    if first and not (fs or {}).get("unless_exists"):
        with open(os.path.join(data_dir, MARKER), "w", encoding="utf-8") as fh:
            fh.write("started\n")
            fh.flush()
            os.fsync(fh.fileno())
        _sync_dir(data_dir)
    return argv


def main(args: list[str]) -> None:
    spec = json.loads(args[0])
    argv = prepare(spec)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        _say(f"cannot start {argv[0]}: {e.strerror or e}")
        raise SystemExit(127) from None


if __name__ == "__main__":
    main(sys.argv[1:])
