"""Faked node clocks: the ``ClockControl`` capability protocol and its libfaketime mechanism.

A backend that can move a node's wall clock implements ``ClockControl`` (``local`` and ``docker`` do, through
``FakeClocks``). Nothing touches the host's clock: each node of a run that schedules clock faults starts with
``LD_PRELOAD`` = Debian's libfaketime, ``FAKETIME_TIMESTAMP_FILE`` = a per-node file holding the node's offset
(``+1.5`` / ``-0.25``: seconds) and ``FAKETIME_NO_CACHE=1`` so that every clock read sees the file as it is
now; changing the offset is an atomic rename of that file. ``FAKETIME_DONT_FAKE_MONOTONIC=1``: only the wall
clock (``CLOCK_REALTIME`` and its coarse variant, ``gettimeofday``, ``time``) moves; ``CLOCK_MONOTONIC`` and
``CLOCK_BOOTTIME`` stay real, as on a machine whose NTP daemon steps the clock (a monotonic clock never jumps:
faking it would make every timer of the node fire early or stall, which no real skew does). Measured with
libfaketime 0.9.10: an absolute ``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`` then fails with EINVAL
(Python's ``time.sleep`` uses it; asyncio, relative sleeps and ``nanosleep`` work) -- docs/faults.md.

What cannot be moved is refused, never pretended: a statically linked program does not load the preload, and
Go reads the clock through the vDSO without libc. ``clock_refusal`` inspects every process of a ready node
(its executable and its memory map) and names the first that libfaketime cannot reach.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

CLOCK = "clock"  # the capability name clock faults ask for
MAX_OFFSET_MS = 86_400_000  # a day either way
LIB_NAME = "libfaketime.so.1"
GO_MAGIC = b"\xff Go buildinf:"


@runtime_checkable
class ClockControl(Protocol):
    """A backend that can move each node's wall clock (its processes' view of it) and put it back."""

    def set_clock(self, node: str, offset_ms: float) -> None:
        """The node's wall clock reads real time + ``offset_ms`` from now on."""
        ...

    def clock_offset(self, node: str) -> float:
        """The offset (ms) the node's clock has now (0: real time)."""
        ...

    def strobe_clock(self, node: str, offsets_ms: tuple[float, float], period_ms: float) -> None:
        """Flip the node's offset between the two values every ``period_ms`` until ``reset_clock``."""
        ...

    def reset_clock(self, node: str) -> None:
        """Real time again (a strobe stops)."""
        ...


def libfaketime_path(roots: Iterable[str] = ("/usr/lib",)) -> str | None:
    """Where Debian's libfaketime is on this machine (None: not installed)."""
    for root in roots:
        found = sorted(glob.glob(f"{root}/*/faketime/{LIB_NAME}") + glob.glob(f"{root}/faketime/{LIB_NAME}"))
        if found:
            return found[0]
    return None


def offset_text(offset_ms: float) -> str:
    """libfaketime's relative offset in seconds, signed: ``+1.5``, ``-0.25``."""
    return f"{offset_ms / 1000:+.6f}\n"


class FakeClocks:
    """Per-node offset files under ``folder``, strobe threads, and the environment each node starts with.

    ``visible``: how the node sees ``folder`` (docker: the folder is bind-mounted there); ``lib``: the
    preload as the node sees it."""

    def __init__(self, folder: Path, lib: str, visible: str | None = None) -> None:
        self.folder = folder
        self.lib = lib
        self.visible = visible or str(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._offsets: dict[str, float] = {}
        self._strobes: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._lock = threading.Lock()

    def env(self, node: str) -> dict[str, str]:
        """What the node starts with; a node restarted during a clock fault keeps its offset."""
        if node not in self._offsets:
            self._write(node, 0.0)
        return {
            "LD_PRELOAD": self.lib,
            "FAKETIME_TIMESTAMP_FILE": f"{self.visible}/{node}",
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }

    def _write(self, node: str, offset_ms: float) -> None:
        tmp = self.folder / f".{node}.tmp"
        tmp.write_text(offset_text(offset_ms))
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.folder / node)  # atomic: a clock read sees the old or the new offset
        self._offsets[node] = offset_ms

    def set(self, node: str, offset_ms: float) -> None:
        self._stop_strobe(node)
        with self._lock:
            self._write(node, offset_ms)

    def offset(self, node: str) -> float:
        return self._offsets.get(node, 0.0)

    def strobe(self, node: str, offsets_ms: tuple[float, float], period_ms: float) -> None:
        self._stop_strobe(node)
        stop = threading.Event()

        def flip() -> None:
            i = 0
            while not stop.is_set():
                with self._lock:
                    if stop.is_set():
                        return
                    self._write(node, offsets_ms[i % 2])
                i += 1
                stop.wait(period_ms / 1000)

        t = threading.Thread(target=flip, name=f"clock-strobe-{node}", daemon=True)
        self._strobes[node] = (t, stop)
        t.start()

    def _stop_strobe(self, node: str) -> None:
        found = self._strobes.pop(node, None)
        if found is not None:
            found[1].set()
            found[0].join(timeout=5)

    def reset(self, node: str) -> None:
        self.set(node, 0.0)

    def reset_all(self) -> None:
        for node in list(self._offsets):
            self.reset(node)


def _elf_facts(exe: str) -> tuple[bool, bool]:
    """(dynamically linked, a Go program) of the ELF file ``exe``."""
    with open(exe, "rb") as fh:
        head = fh.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # not a 64-bit ELF: a script's interpreter is what runs
            return True, False
        order: Literal["little", "big"] = "little" if head[5] == 1 else "big"
        phoff = int.from_bytes(head[32:40], order)
        phentsize = int.from_bytes(head[54:56], order)
        phnum = int.from_bytes(head[56:58], order)
        fh.seek(phoff)
        table = fh.read(phentsize * phnum)
        dynamic = any(
            int.from_bytes(table[i * phentsize : i * phentsize + 4], order) == 3 for i in range(phnum)
        )  # PT_INTERP: the program asks for the dynamic loader, which honours LD_PRELOAD
        fh.seek(0)
        go = False
        while chunk := fh.read(1 << 22):
            if GO_MAGIC in chunk:
                go = True
                break
            fh.seek(fh.tell() - len(GO_MAGIC))  # a magic split across two chunks is still found
            if len(chunk) < (1 << 22):
                break
    return dynamic, go


def clock_refusal(pids: Iterable[int], proc: str = "/proc") -> str | None:
    """Why libfaketime cannot move the clock of these processes (the first one that it cannot reach), or None.

    A process is reachable when its executable is dynamically linked, not a Go program (Go reads the clock
    through the vDSO, not libc, also when dynamically linked) and libfaketime is in its memory map."""
    seen = False
    for pid in pids:
        try:
            exe = os.readlink(f"{proc}/{pid}/exe")
            maps = Path(f"{proc}/{pid}/maps").read_text(errors="replace")
            dynamic, go = _elf_facts(f"{proc}/{pid}/exe")
        except OSError:
            continue  # gone meanwhile
        seen = True
        name = os.path.basename(exe)
        if go:
            return (
                f"{name} (pid {pid}) is a Go program: Go reads the time through the vDSO, not libc, so "
                "libfaketime cannot move its clock"
            )
        if not dynamic:
            return f"{name} (pid {pid}) is statically linked: it does not load libfaketime"
        if LIB_NAME not in maps:
            return f"{name} (pid {pid}) has not loaded libfaketime (LD_PRELOAD dropped on the way?)"
    if not seen:
        return "no process of the node was found to inspect"
    return None


def as_clock_control(backend: object, why: Mapping[str, str] | None = None) -> ClockControl:
    """The backend typed as ``ClockControl``, or the reason it is not one."""
    if not isinstance(backend, ClockControl):
        from harness.errors import BadInput

        raise BadInput(f"{CLOCK}: {(why or {}).get(CLOCK, 'this backend cannot move node clocks')}")
    return backend
