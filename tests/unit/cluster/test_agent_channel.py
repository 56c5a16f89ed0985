"""The sandbox rule agent's protocol, end to end without Docker: the real ``AGENT`` program runs as a local
subprocess behind a stand-in for Docker's attach stream (stdin raw, stdout/stderr in 8-byte-header frames).
Only the ``ping`` handshake and an unknown tool are exercised: no firewall tool ever runs on this host."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading

import pytest

from harness.cluster.agent import AGENT, AgentError, Channel


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(payload)) + payload


def attached_agent() -> tuple[Channel, subprocess.Popen[bytes], socket.socket]:
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", AGENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def to_agent() -> None:
        try:
            while data := theirs.recv(4096):
                stdin.write(data)
                stdin.flush()
            stdin.close()
        except OSError:  # the agent was killed: the stream just ends
            pass

    def from_agent() -> None:
        while data := stdout.read1(4096):  # type: ignore[attr-defined]
            # split each chunk in two frames and put a stderr frame between: the channel must reassemble
            half = len(data) // 2
            theirs.sendall(frame(1, data[:half]) + frame(2, b"noise on stderr\n") + frame(1, data[half:]))
        theirs.shutdown(socket.SHUT_WR)

    for fn in (to_agent, from_agent):
        threading.Thread(target=fn, daemon=True).start()
    return Channel(ours, timeout=10), proc, theirs


def test_handshake_and_answers_in_order() -> None:
    channel, proc, theirs = attached_agent()
    try:
        channel.wait_ready()
        assert channel.call("ping", "abc") == (0, "abc")
        code, err = channel.call("no-such-tool", "x")
        assert code == 127 and "KeyError" in err
        assert channel.call("ping", "second") == (0, "second")
    finally:
        channel.close()
        proc.wait(timeout=10)
        theirs.close()


def test_a_closed_stream_is_an_agent_error() -> None:
    channel, proc, theirs = attached_agent()
    channel.wait_ready()
    proc.kill()
    proc.wait(timeout=10)
    with pytest.raises(AgentError):
        channel.call("ping", "anyone?")
    channel.close()
    theirs.close()
