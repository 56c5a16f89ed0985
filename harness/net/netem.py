"""Kernel queueing faults (``sch_netem``: delay, jitter, duplicate, reorder), where the kernel has them.

Many kernels (CI runners, laptops) ship ``sch_netem``; some (this project's development VMs) do not.
``probe_host`` answers on the host by trying a netem qdisc on the loopback of a throwaway network namespace
(``unshare -n``), which touches nothing else; the docker backend asks the engine's kernel the same question
inside a node's sandbox. Where it is missing, netem faults are refused with ``NETEM_MISSING`` and the
Toxiproxy link toxics (latency, jitter, bandwidth, ...) remain the way to slow a link that goes through a
proxy.

``tc_script`` is pure: the ``tc -batch`` lines that make one node's egress to chosen peers pass through one
netem qdisc (an ``htb`` root whose default class 1:1 carries everything else unshaped, class 1:2 with the
netem qdisc, one u32 filter per destination address into 1:2); ``CLEAR`` removes it again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BadInput

DEV = "eth0"
RATE = "100gbit"  # htb classes that never limit: only netem shapes
NETEM_MISSING = (
    "netem faults need the kernel's sch_netem queueing discipline, which this machine's kernel lacks "
    "(chaos doctor: netem); slow links with a link fault instead (Toxiproxy latency, jitter, bandwidth, on "
    "links the run routes through proxies)"
)


@dataclass(frozen=True)
class Netem:
    """One netem setting: ``delay``/``jitter`` in ms, ``duplicate``/``reorder``/``loss`` in percent."""

    delay: float = 0.0
    jitter: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    loss: float = 0.0

    def __post_init__(self) -> None:
        for name in ("delay", "jitter", "duplicate", "reorder", "loss"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise BadInput(f"netem {name}: expected a number >= 0, got {v!r}")
        for name in ("duplicate", "reorder", "loss"):
            if getattr(self, name) > 100:
                raise BadInput(f"netem {name}: a percentage, at most 100, got {getattr(self, name)!r}")
        if self.reorder and not self.delay:
            raise BadInput(
                "netem reorder: needs a delay > 0 (packets are reordered by sending some without it)"
            )
        if self.jitter and not self.delay:
            raise BadInput("netem jitter: needs a delay > 0")

    def args(self) -> str:
        out = []
        if self.delay:
            out.append(f"delay {self.delay:g}ms" + (f" {self.jitter:g}ms" if self.jitter else ""))
        if self.loss:
            out.append(f"loss {self.loss:g}%")
        if self.duplicate:
            out.append(f"duplicate {self.duplicate:g}%")
        if self.reorder:
            out.append(f"reorder {self.reorder:g}%")
        return " ".join(out) or "delay 0ms"


CLEAR = f"qdisc del dev {DEV} root\n"  # fails harmlessly when nothing is there: run it on its own, tolerantly


def tc_script(setting: Netem, destinations: Iterable[str], dev: str = DEV) -> str:
    """``tc -batch`` input that routes egress to ``destinations`` through ``setting`` (after ``CLEAR``)."""
    lines: list[str] = [
        f"qdisc add dev {dev} root handle 1: htb default 1",
        f"class add dev {dev} parent 1: classid 1:1 htb rate {RATE}",
        f"class add dev {dev} parent 1: classid 1:2 htb rate {RATE}",
        f"qdisc add dev {dev} parent 1:2 handle 20: netem {setting.args()}",
    ]
    lines += [
        f"filter add dev {dev} parent 1: protocol ip prio 1 u32 match ip dst {ip}/32 flowid 1:2"
        for ip in sorted(set(destinations))
    ]
    return "\n".join(lines) + "\n"


def probe_host() -> tuple[bool | None, str]:
    """Whether this host's kernel has sch_netem: ``(True|False, how we know)``, or ``(None, why unknown)``."""
    if Path("/sys/module/sch_netem").exists():
        return True, "sch_netem is loaded"
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("tc")):
        return None, "unknown (checking needs root, unshare and tc)"
    try:
        r = subprocess.run(
            ["unshare", "-n", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"unknown ({e})"
    if r.returncode == 0:
        return True, "sch_netem available (a netem qdisc was created in a throwaway namespace)"
    return (
        False,
        f"not in this kernel ({r.stderr.strip()[:80]}); delay/jitter/duplicate/reorder faults refused",
    )
