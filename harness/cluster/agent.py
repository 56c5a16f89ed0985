"""The rule agent of a docker node's network sandbox: loads rule sets sent over the container's stdin.

Each sandbox (``harness.cluster.docker``) runs ``AGENT`` as its main process with stdin open. The backend
attaches to the container once and then, per request, writes a header line ``<tool> <length>`` and ``length``
bytes of input; the agent runs the tool in its own (the node's) network namespace and answers one line
``<exit code> <stderr>`` (tool ``ping`` echoes its input, for the handshake). One round trip is one
``iptables-restore``, with no ``docker exec`` to set up, so a partition reaches 5 nodes in tens of
milliseconds even where the host cannot ``nsenter`` (a remote engine, not root). ``Channel`` is the host
side: it speaks that protocol over the attach socket, whose output is Docker's multiplexed stream (8-byte
frame headers: stream, 3 zero bytes, big-endian length).
"""

from __future__ import annotations

import secrets
import socket
import struct
import threading

TOOLS = {"ipt": ("iptables-restore",), "tc": ("tc", "-batch", "-"), "tcf": ("tc", "-force", "-batch", "-")}

AGENT = r"""
import subprocess, sys
TOOLS = TOOLS_HERE
inp = sys.stdin.buffer
while True:
    header = inp.readline()
    if not header:
        break
    tool, n = header.decode().split()
    data = inp.read(int(n))
    if tool == "ping":
        sys.stdout.write("0 " + data.decode(errors="replace") + "\n")
        sys.stdout.flush()
        continue
    try:
        r = subprocess.run(list(TOOLS[tool]), input=data, capture_output=True, timeout=20)
        code, err = r.returncode, r.stderr.decode(errors="replace")
    except Exception as e:
        code, err = 127, repr(e)
    sys.stdout.write(str(code) + " " + " ".join(err.split())[:300] + "\n")
    sys.stdout.flush()
""".replace("TOOLS_HERE", repr(TOOLS))


class AgentError(Exception):
    """The channel broke (the sandbox is gone or the stream is not what the agent writes)."""


class Channel:
    """One attached sandbox: ``call(tool, data)`` -> ``(exit code, stderr)``; one call at a time."""

    def __init__(self, sock: socket.socket, timeout: float = 20.0) -> None:
        self.sock = sock
        self.sock.settimeout(timeout)
        self._lock = threading.Lock()
        self._pending = b""

    def _frame(self) -> bytes:
        header = self._exact(8)
        stream, size = header[0], struct.unpack(">I", header[4:])[0]
        payload = self._exact(size)
        return payload if stream == 1 else b""  # stdout only; stderr frames are the agent's own noise

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise AgentError("the sandbox's agent closed its stream")
            buf += chunk
        return buf

    def _line(self) -> str:
        while b"\n" not in self._pending:
            self._pending += self._frame()
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode(errors="replace")

    def wait_ready(self) -> None:
        """Round-trip a nonce: the agent runs and this channel reaches it (answers are in request order)."""
        nonce = secrets.token_hex(8)
        code, echo = self.call("ping", nonce)
        if (code, echo) != (0, nonce):
            raise AgentError(f"the sandbox's agent answered {code} {echo[:40]!r} to a ping")

    def call(self, tool: str, data: str) -> tuple[int, str]:
        payload = data.encode()
        with self._lock:
            try:
                self.sock.sendall(f"{tool} {len(payload)}\n".encode() + payload)
                line = self._line()
            except OSError as e:
                raise AgentError(f"the sandbox's agent did not answer: {e}") from None
        code, _, err = line.partition(" ")
        if not code.lstrip("-").isdigit():
            raise AgentError(f"unexpected answer from the sandbox's agent: {line[:100]!r}")
        return int(code), err

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
