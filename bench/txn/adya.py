"""The reference checker for the transactional benchmark and the differential test: ``adya`` (crates.io), an
independent Rust implementation of Elle's approach, built into ``.chaos/adya`` on first use.

``ensure_adya()`` returns the binary, running ``cargo install adya --version 0.1.0 --no-default-features
--root .chaos/adya`` when it is missing (about a minute on these machines). ``simulate`` writes a history from
adya's simulated database at an isolation level; ``run_measured`` runs a command and returns its wall time,
CPU time and peak memory (the child's own, from ``wait4``), exit status and output. ``normalize`` maps anomaly
names to ours (both use Elle's names: ``G-single-item``, ``G2-item``, ...).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADYA_ROOT = ROOT / ".chaos" / "adya"
ADYA_VERSION = "0.1.0"


def ensure_adya() -> Path:
    binary = ADYA_ROOT / "bin" / "adya"
    if binary.exists():
        return binary
    cargo = shutil.which("cargo")
    if cargo is None:
        raise RuntimeError("cargo not found: install Rust (rustup or apt-get install cargo) to build adya")
    subprocess.run(
        [
            cargo,
            "install",
            "adya",
            "--version",
            ADYA_VERSION,
            "--no-default-features",
            "--root",
            str(ADYA_ROOT),
        ],
        check=True,
        timeout=1800,
    )
    return binary


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    status: int
    stdout: str
    cpu_s: float = 0.0  # user + system time of the process (less disturbed than wall time on a busy machine)


def run_measured(argv: list[str]) -> Measured:
    """Run ``argv``: its wall time and its own peak RSS from ``wait4`` (not the max over all children)."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        elapsed = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Measured(elapsed, usage.ru_maxrss / 1024, p.returncode, text, usage.ru_utime + usage.ru_stime)


def simulate(
    adya: Path,
    out: Path,
    txns: int,
    isolation: str,
    seed: int,
    processes: int = 10,
    model: str = "list-append",
) -> None:
    subprocess.run(
        [
            str(adya),
            "run",
            "sim",
            "-n",
            str(txns),
            "-p",
            str(processes),
            "-i",
            isolation,
            "--seed",
            str(seed),
            "-m",
            model,
            "-o",
            str(out),
            "-c",
            "read-uncommitted",
        ],
        check=False,
        capture_output=True,
        timeout=600,
    )  # its exit status is its own verdict on the history; the file is what we want
    if not out.exists():
        raise RuntimeError(f"adya run sim wrote no history to {out}")


def normalize(name: str) -> str:
    """adya's anomaly name as ours: the same (both use Elle's item-level names)."""
    return name
