"""Which code ran: the harness's version and git commit, recorded in ``run.json`` as ``code_version``.

The night-over-night summary (``harness.report.trends``) groups runs of one experiment by this value to tell
a flaky experiment (both outcomes on one code version) from a change that fixed or broke something.
"""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path


@cache
def code_version() -> str:
    """``<git commit>`` (plus ``-dirty`` when the work tree has changes), else the package version."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        if commit:
            return commit[:12] + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"v{metadata.version('chaos-harness')}"
    except metadata.PackageNotFoundError:
        return "unknown"
