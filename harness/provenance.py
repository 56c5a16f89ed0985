"""Which code ran, recorded in ``run.json``: the system under test's version and the harness's.

``sut_version``: the version of the system under test -- ``$CHAOS_SUT_VERSION`` when set (``chaos run
--sut-version`` and pytest's ``--chaos-sut-version`` set it), else the git commit of the repository the run
was started from (the current directory: a user's own repository in their nightly job), else not recorded.
``harness_version``: the installed package's version. ``code_version``: the harness's git commit when it runs
from a checkout (else its package version), as recorded since the first bundles.

The night-over-night summary (``harness.report.trends``) groups runs of one experiment by the system's version
(``sut_version``, else ``code_version`` for bundles that did not record it) to tell a flaky experiment (both
outcomes on one version) from a change that fixed or broke something.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

from harness.paths import is_checkout, project_root

SUT_VERSION_ENV = "CHAOS_SUT_VERSION"


def sut_version() -> str | None:
    """The system under test's version: ``$CHAOS_SUT_VERSION``, else the current directory's git commit."""
    given = os.environ.get(SUT_VERSION_ENV, "").strip()
    if given:
        return given[:80]
    return git_commit(Path.cwd())


def harness_version() -> str:
    """The installed chaos-harness package's version (``unknown`` when it is not installed)."""
    try:
        return metadata.version("chaos-harness")
    except metadata.PackageNotFoundError:
        return "unknown"


@cache
def code_version() -> str:
    """``<git commit>`` (plus ``-dirty`` when the work tree has changes), else the package version."""
    # only a checkout's commit: an installed harness may sit in a venv inside the user's repository
    commit = git_commit(project_root()) if is_checkout() else None
    if commit is not None:
        return commit
    version = harness_version()
    return "unknown" if version == "unknown" else f"v{version}"


def git_commit(root: Path) -> str | None:
    """The commit checked out in the git work tree holding ``root`` (``-dirty`` with changes), or None."""
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
    return None
