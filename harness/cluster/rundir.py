"""Per-run state on disk: ``.chaos/runs/<run-id>/`` holds pid files, node data and logs of a local run.

Every subprocess a run starts is recorded as ``pids/<name>.pid`` (pid and the process's start time from
``/proc``), so ``chaos clean`` can find the leftovers of a runner killed outright and stop exactly those
processes, never a later process that happens to reuse the pid. The state directory is ``.chaos`` of a
checkout (git-ignored) or the per-user cache of an installed harness (``harness.paths``); ``CHAOS_HOME``
overrides its location.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.owner import Owner, proc_start_time
from harness.errors import BadInput
from harness.paths import chaos_home, project_root

__all__ = [
    "LABEL",
    "RUN_ENV",
    "RunDir",
    "all_runs",
    "chaos_home",
    "check_run_id",
    "mounts_below",
    "proc_start_time",
    "project_root",
    "unmount",
    "unmount_below",
]

LABEL = "chaos-harness.run"
RUN_ENV = "CHAOS_HARNESS_RUN"


def new_run_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)


def check_run_id(run_id: str) -> str:
    ok = run_id and len(run_id) <= 40 and all(c.isalnum() or c in "-_" for c in run_id)
    if not ok or not run_id[0].isalnum():
        raise BadInput(
            f"run_id {run_id!r}: use 1-40 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return run_id.lower()


def descendants(root: int) -> list[int]:
    """Every live descendant of ``root`` (children first found through /proc's parent pids)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


@dataclass(frozen=True)
class RunDir:
    """The state directory of one run."""

    run_id: str
    path: Path

    @classmethod
    def create(cls, run_id: str, owner_log_dir: str | os.PathLike[str] | None = None) -> RunDir:
        """Make the directory with its owner record in place before it appears (so no ``clean`` sees a run
        without an owner); ``owner_log_dir``: the run bundle's ``logs`` dir, recorded as the bundle."""
        runs = chaos_home() / "runs"
        path = runs / run_id
        tmp = runs / f".new-{run_id}-{os.getpid()}"
        (tmp / "pids").mkdir(parents=True, exist_ok=True)
        bundle = None
        if owner_log_dir is not None:
            parent = Path(owner_log_dir).resolve().parent
            bundle = parent if (parent / "run.json").is_file() else None
        owner = Owner.current(chaos_home().resolve(), bundle)
        owner.write(tmp)
        try:
            os.replace(tmp, path)
        except OSError:  # the id is reused: the directory exists already
            shutil.rmtree(tmp, ignore_errors=True)
            (path / "pids").mkdir(parents=True, exist_ok=True)
            owner.write(path)
        return cls(run_id, path)

    def owner(self) -> Owner | None:
        return Owner.read(self.path)

    def owner_alive(self) -> bool:
        """Whether the process that opened this run may still run (then ``chaos clean`` leaves it alone):
        False only when its owner record says it is certainly gone; no record counts as alive."""
        owner = self.owner()
        return owner is None or owner.alive() is not False

    def data_dir(self, node: str) -> Path:
        d = self.path / "data" / node
        d.mkdir(parents=True, exist_ok=True)
        return d

    def log_file(self, name: str) -> Path:
        d = self.path / "logs"
        d.mkdir(parents=True, exist_ok=True)
        return d / f"{name}.log"

    def record_pid(self, name: str, pid: int) -> None:
        start = proc_start_time(pid)
        (self.path / "pids" / f"{name}.pid").write_text(f"{pid} {start}\n")

    def forget_pid(self, name: str) -> None:
        (self.path / "pids" / f"{name}.pid").unlink(missing_ok=True)

    def live_pids(self) -> dict[str, int]:
        """Recorded processes that are still the very processes we started."""
        out: dict[str, int] = {}
        pids = self.path / "pids"
        for f in sorted(pids.glob("*.pid")) if pids.is_dir() else []:
            try:
                pid_s, start_s = f.read_text().split()
                pid = int(pid_s)
            except (OSError, ValueError):
                continue
            if str(proc_start_time(pid)) == start_s:
                out[f.stem] = pid
        return out

    def kill_recorded(self) -> list[int]:
        """SIGKILL every recorded live process (resuming stopped ones first); returns their pids."""
        killed = []
        for pid in self.live_pids().values():
            try:
                # a node started in its own session leads its group: kill the whole group (its children too)
                group = os.getpgid(pid) == pid
            except ProcessLookupError:
                continue
            tree = descendants(pid)  # and children that left the group (setsid)
            for sig in (signal.SIGKILL, signal.SIGCONT):
                try:
                    os.killpg(pid, sig) if group else os.kill(pid, sig)
                except ProcessLookupError:
                    pass
                for child in tree:
                    try:
                        os.kill(child, sig)
                    except ProcessLookupError:
                        pass
            killed.append(pid)
        return killed

    def unmount(self) -> list[str]:
        """Unmount every file system mounted below the run directory (a disk fault layer); returns them."""
        return unmount_below(str(self.path))

    def remove(self) -> None:
        self.unmount()
        shutil.rmtree(self.path, ignore_errors=True)


def mounts_below(root: str, mounts_file: str = "/proc/self/mounts") -> list[str]:
    """Mount points at or below ``root``, deepest first."""
    base = os.path.realpath(root)
    try:
        lines = Path(mounts_file).read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split()
        if len(parts) > 1:
            point = parts[1].replace("\\040", " ")
            if point == base or point.startswith(base + "/"):
                found.append(point)
    return sorted(set(found), key=len, reverse=True)


def unmount(point: str) -> bool:
    """Unmount ``point`` if it is a mount (lazily when busy; a dead FUSE mount too); never raises."""
    point = os.path.realpath(point)
    if point not in mounts_below(point):
        return False
    for argv in (["fusermount3", "-u", "-z", point], ["umount", "-l", point]):
        try:
            subprocess.run(argv, capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if point not in mounts_below(point):
            return True
    return False


def unmount_below(root: str) -> list[str]:
    return [p for p in mounts_below(root) if unmount(p)]


def all_runs() -> list[RunDir]:
    runs = chaos_home() / "runs"
    if not runs.is_dir():
        return []
    return [RunDir(p.name, p) for p in sorted(runs.iterdir()) if p.is_dir() and not p.name.startswith(".")]
