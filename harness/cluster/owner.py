"""Who owns a run, in a form any checkout can test: host, boot, pid, process start time, home, bundle.

A run's owner record is written twice: as ``owner.json`` in its run directory (``CHAOS_HOME/runs/<id>/``) and
as labels on every container and network of a docker run (``chaos-harness.owner.*``). ``chaos clean`` run from
any checkout reads either and asks ``alive()``: ``True`` (the very process still runs), ``False`` (this host,
this boot, and that process is gone) or ``None`` (another host or boot: it cannot tell, so the run counts as
live). The older ``owner`` file (``pid starttime``) is still written and read, for runs of older checkouts.
``bundle`` is the run bundle directory (when a runner made one), so ``clean`` can mark a dead run ``killed``.
A runner also registers its bundle in ``CHAOS_HOME/bundles/`` for the whole run (``register_bundle``), so a
runner killed after its cluster is gone (while checking or rendering) is found too.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from harness import record
from harness.errors import BadInput

LABEL_PREFIX = "chaos-harness.owner."
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def proc_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields or fields[0] == "Z":
        return None  # a zombie has already exited
    return int(fields[19])


def boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class Owner:
    """The process that opened a run; see the module docstring."""

    host: str
    boot: str
    pid: int
    start: int | None
    home: str
    bundle: str = ""

    @classmethod
    def current(cls, home: Path, bundle: Path | None = None) -> Owner:
        pid = os.getpid()
        return cls(
            socket.gethostname(), boot_id(), pid, proc_start_time(pid), str(home), str(bundle or "")
        )

    def alive(self) -> bool | None:
        """True: still running; False: certainly gone (same host and boot); None: cannot tell."""
        if self.host != socket.gethostname() or (self.boot and self.boot != boot_id()):
            return None
        return self.start is not None and proc_start_time(self.pid) == self.start

    def labels(self) -> dict[str, str]:
        return {LABEL_PREFIX + k: "" if v is None else str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_labels(cls, labels: dict[str, str]) -> Owner | None:
        """The owner written in a container's or network's labels; None when they hold none (older runs)."""
        try:
            raw = {k[len(LABEL_PREFIX) :]: v for k, v in labels.items() if k.startswith(LABEL_PREFIX)}
            return cls._of(raw)
        except (KeyError, ValueError):
            return None

    @classmethod
    def _of(cls, raw: dict[str, Any]) -> Owner:
        start = raw.get("start")
        return cls(
            str(raw["host"]),
            str(raw.get("boot", "")),
            int(raw["pid"]),
            int(start) if start not in (None, "") else None,
            str(raw.get("home", "")),
            str(raw.get("bundle") or ""),
        )

    def write(self, run_dir: Path) -> None:
        """``owner.json`` plus the older ``owner`` (pid start) that earlier checkouts read."""
        (run_dir / "owner.json").write_text(json.dumps(asdict(self)) + "\n")
        (run_dir / "owner").write_text(f"{self.pid} {self.start}\n")

    @classmethod
    def read(cls, run_dir: Path) -> Owner | None:
        """The run directory's owner; None when it has no readable record."""
        try:
            return cls._of(json.loads((run_dir / "owner.json").read_text()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        try:  # an older checkout's run: pid and start time on this host
            pid_s, start_s = (run_dir / "owner").read_text().split()
            return cls(socket.gethostname(), boot_id(), int(pid_s), int(start_s), str(run_dir.parent.parent))
        except (OSError, ValueError):
            return None


def mark_killed(bundle: str) -> bool:
    """Mark a bundle whose runner died while it ran as ``killed``; True when its ``run.json`` changed."""
    if not bundle:
        return False
    run_file = Path(bundle) / record.RUN_FILE_NAME
    try:
        meta = record.read(run_file)
    except (OSError, BadInput):
        return False
    if meta.status != "running":
        return False
    record.write(
        run_file,
        replace(
            meta,
            status="killed",
            finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            error="the runner was killed while the run ran; chaos clean removed what it left",
        ),
    )
    return True


def register_bundle(home: Path, bundle: Path) -> Path:
    """Note in ``home/bundles/`` that this process is writing ``bundle`` (for the whole run, also after the
    cluster is gone): if it dies outright, ``chaos clean`` finds the bundle here and marks it ``killed``."""
    d = home / "bundles"
    d.mkdir(parents=True, exist_ok=True)
    entry = d / f"{os.getpid()}-{time.time_ns()}.json"
    tmp = entry.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(Owner.current(home.resolve(), bundle.resolve()))) + "\n")
    os.replace(tmp, entry)
    return entry


def stale_bundles(home: Path) -> list[tuple[Path, Owner]]:
    """Registered bundles whose writer is certainly gone: (the registry entry, its owner)."""
    d = home / "bundles"
    out = []
    for entry in sorted(d.glob("*.json")) if d.is_dir() else []:
        try:
            owner = Owner._of(json.loads(entry.read_text()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if owner.alive() is False:
            out.append((entry, owner))
    return out
