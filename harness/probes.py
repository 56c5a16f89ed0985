"""Steady-state hypothesis and abort condition: probes with tolerances, checked before and during a run.

An experiment's ``steady_state`` lists probes (the typed records below, built from the validated YAML by
``parse``). Before any fault, ``verify`` retries every probe until it passes or ``within`` seconds run out: a
system that is not steady is not tested (the runner records why and the outcome is ``unknown``, exit 2, the
probe named). With ``abort``, an ``AbortMonitor`` thread re-checks probes every ``interval`` seconds while the
workload runs; ``failures`` consecutive failures of one probe trip it, and the runner stops injecting, heals
and records the reason in the history and ``run.json``.

Probe kinds (exactly one per probe), with their tolerance:

    http: URL           GET; passes when the status is in ``status`` (default [200])
    tcp: ADDR           a TCP connect succeeds; ADDR is a node name (its client address) or host:port
    command: [argv]     runs; passes when the exit code is in ``exit`` (default [0])
    op: {f, value}      one client op through the target's client, recorded in the history like any other;
                        passes when its type is in ``expect`` (default [ok])

In URLs, addresses and command arguments ``{n1}`` is replaced by node n1's client address (host:port),
``{n1.host}`` / ``{n1.port}`` by its parts. This module knows nothing of the runner: the cluster's
addresses and the op call come in as plain arguments.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import BadInput

PROBE_KINDS = ("http", "tcp", "command", "op")
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.-]+?)(?:\.(host|port))?\}")

# Probes go straight to the address given, never through a proxy from the environment (http_proxy).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))

OpCall = Callable[[str, Any], str]  # (f, value) -> the completion type: ok / fail / info


@dataclass(frozen=True)
class Probe:
    """One probe; ``accept`` is its tolerance (status codes, exit codes or op types)."""

    name: str
    kind: str
    target: Any  # the URL, the address, the argv tuple, or (f, value)
    accept: frozenset[Any]
    timeout: float = 2.0


@dataclass(frozen=True)
class Abort:
    """During the run: check ``probes`` every ``interval`` s; ``failures`` in a row of one probe trip it."""

    probes: tuple[str, ...]
    interval: float = 1.0
    failures: int = 3


@dataclass(frozen=True)
class SteadyState:
    probes: tuple[Probe, ...]
    within: float = 10.0
    abort: Abort | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "within": self.within,
            "probes": [p.name for p in self.probes],
            "abort": None
            if self.abort is None
            else {
                "probes": list(self.abort.probes),
                "interval": self.abort.interval,
                "failures": self.abort.failures,
            },
        }


@dataclass(frozen=True)
class ProbeFailure:
    """Why the hypothesis did not hold: the probe and what it saw."""

    probe: str
    reason: str
    at_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"probe": self.probe, "reason": self.reason, "at_s": self.at_s}

    def __str__(self) -> str:
        return f"probe {self.probe}: {self.reason}"


def _accept(v: Any, default: Sequence[Any]) -> frozenset[Any]:
    if v is None:
        return frozenset(default)
    return frozenset(v if isinstance(v, list) else [v])


def parse(
    data: Mapping[str, Any] | None,
    nodes: Sequence[str],
    error: Callable[[tuple[str | int, ...], str], Exception],
) -> SteadyState | None:
    """The typed hypothesis from schema-valid data; ``error(path, message)`` builds the file:line error."""
    if not data:
        return None
    probes: list[Probe] = []
    for i, p in enumerate(data["probes"]):
        base: tuple[str | int, ...] = ("steady_state", "probes", i)
        kinds = [k for k in PROBE_KINDS if k in p]
        if len(kinds) != 1:
            got = f"got {', '.join(kinds)}" if kinds else "got none"
            raise error(base, f"a probe has exactly one of {', '.join(PROBE_KINDS)}; {got}")
        kind = kinds[0]
        target: Any = p[kind]
        texts = [target] if isinstance(target, str) else list(target) if kind == "command" else []
        for text in texts:
            for m in PLACEHOLDER.finditer(str(text)):
                if m.group(1) not in nodes:
                    raise error((*base, kind), f"{{{m.group(1)}}}: unknown node; valid: {', '.join(nodes)}")
        if kind == "tcp" and target not in nodes and not re.fullmatch(r"[^:\s]+:\d+|\{[^}]+\}", target):
            raise error((*base, kind), f"{target!r}: expected a node name ({', '.join(nodes)}) or host:port")
        if any(q.name == p["name"] for q in probes):
            raise error((*base, "name"), f"duplicate probe name {p['name']!r}; each probe needs its own name")
        accept = {
            "http": _accept(p.get("status"), [200]),
            "tcp": frozenset({"connected"}),
            "command": _accept(p.get("exit"), [0]),
            "op": _accept(p.get("expect"), ["ok"]),
        }[kind]
        bad = sorted(str(t) for t in accept - {"ok", "fail", "info"}) if kind == "op" else []
        if bad:
            raise error((*base, "expect"), f"{bad[0]!r}: an op completes ok, fail or info")
        if kind == "command":
            target = tuple(str(a) for a in target)
        elif kind == "op":
            target = (target["f"], target.get("value"))
        probes.append(Probe(p["name"], kind, target, accept, float(p.get("timeout", 2.0))))
    abort = None
    if "abort" in data:
        a = data["abort"]
        names = tuple(a.get("probes") or [p.name for p in probes])
        for j, n in enumerate(names):
            if n not in {p.name for p in probes}:
                raise error(
                    ("steady_state", "abort", "probes", j),
                    f"unknown probe {n!r}; valid: {', '.join(p.name for p in probes)}",
                )
        abort = Abort(names, float(a.get("interval", 1.0)), int(a.get("failures", 3)))
    return SteadyState(tuple(probes), float(data.get("within", 10.0)), abort)


def expand(text: str, addrs: Mapping[str, Any]) -> str:
    """Replace ``{node}``, ``{node.host}``, ``{node.port}`` by the node's client address (or its parts)."""

    def one(m: re.Match[str]) -> str:
        addr = addrs.get(m.group(1))
        if addr is None:
            raise BadInput(f"probe: {{{m.group(1)}}} names no node of this cluster")
        host, port = getattr(addr, "host", None), getattr(addr, "port", None)
        if host is None:
            host, _, port = str(addr).rpartition(":")
        return {"host": str(host), "port": str(port)}.get(m.group(2) or "", f"{host}:{port}")

    return PLACEHOLDER.sub(one, text)


def run_probe(probe: Probe, addrs: Mapping[str, Any], op_call: OpCall | None) -> str | None:
    """None when the probe passes, else what it saw (one line)."""
    try:
        if probe.kind == "http":
            url = expand(probe.target, addrs)
            try:
                with _DIRECT.open(url, timeout=probe.timeout) as resp:
                    status = resp.status
            except urllib.error.HTTPError as e:
                status = e.code
            return None if status in probe.accept else f"GET {url}: status {status}, expected {_show(probe)}"
        if probe.kind == "tcp":
            text = str(addrs[probe.target]) if probe.target in addrs else expand(probe.target, addrs)
            host, _, port = text.rpartition(":")
            with socket.create_connection((host, int(port)), timeout=probe.timeout):
                return None
        if probe.kind == "command":
            argv = [expand(a, addrs) for a in probe.target]
            proc = subprocess.run(argv, capture_output=True, timeout=probe.timeout, check=False)
            if proc.returncode in probe.accept:
                return None
            tail = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()[-1:]
            return f"{' '.join(argv)}: exit {proc.returncode}, expected {_show(probe)}" + (
                f" ({tail[0][:200]})" if tail else ""
            )
        if op_call is None:
            return "no client to run an op probe with"
        f, value = probe.target
        got = op_call(f, value)
        return None if got in probe.accept else f"op {f}: {got}, expected {_show(probe)}"
    except subprocess.TimeoutExpired:
        return f"timed out after {probe.timeout:g} s"
    except Exception as e:  # noqa: BLE001 - whatever a probe meets (refused, bad protocol...) is its failure
        return f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"


def _show(probe: Probe) -> str:
    return " or ".join(str(a) for a in sorted(probe.accept, key=str))


def verify(
    steady: SteadyState,
    addrs: Mapping[str, Any],
    op_call: OpCall | None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ProbeFailure | None:
    """Retry each probe until it passes or ``within`` runs out; the first probe that never passed, or None."""
    deadline = clock() + steady.within
    for probe in steady.probes:
        while True:
            why = run_probe(probe, addrs, op_call)
            if why is None:
                break
            if clock() >= deadline:
                return ProbeFailure(probe.name, f"{why} (still failing after {steady.within:g} s)")
            sleep(min(0.25, max(0.0, deadline - clock())))
    return None


class AbortMonitor:
    """Checks the abort probes in a thread; ``tripped`` is the failure once ``failures`` in a row happen."""

    def __init__(
        self,
        steady: SteadyState,
        addrs: Mapping[str, Any],
        op_call: OpCall | None,
        started: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert steady.abort is not None
        self.abort = steady.abort
        self.probes = [p for p in steady.probes if p.name in self.abort.probes]
        self.addrs, self.op_call, self.started, self._clock = addrs, op_call, started, clock
        self.tripped: ProbeFailure | None = None
        self.event = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="abort-monitor", daemon=True)
        self.checks = 0

    def start(self) -> AbortMonitor:
        self._thread.start()
        return self

    def _run(self) -> None:
        streak = {p.name: 0 for p in self.probes}
        while not self._stop.wait(self.abort.interval):
            self.checks += 1
            for p in self.probes:
                why = run_probe(p, self.addrs, self.op_call)
                streak[p.name] = 0 if why is None else streak[p.name] + 1
                if why is not None and streak[p.name] >= self.abort.failures:
                    self.tripped = ProbeFailure(
                        p.name,
                        f"{why} ({streak[p.name]} checks in a row)",
                        round(self._clock() - self.started, 3),
                    )
                    self.event.set()
                    return

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as the abort has tripped."""
        return self.event.wait(seconds)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
