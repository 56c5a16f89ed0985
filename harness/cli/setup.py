"""``chaos setup``: prepare this machine for the harness -- the same steps as a checkout's ``scripts/setup``.

One implementation: this command runs the set-up script itself (``scripts/setup`` in a checkout, the copy a
wheel ships as ``harness/shipped/setup``; ``harness.paths``), telling it that the package is already installed
(``CHAOS_SETUP_PYTHON``: the virtualenv step is skipped), where the state directory is (``CHAOS_HOME``: the
checkout's ``.chaos``, else the per-user cache ``~/.cache/chaos-harness``) and where the native core's crate
is and its library goes. Every step is skipped when already done: a Docker engine (found; else, as root on
Debian, ``docker.io`` installed and started), ``toxiproxy-server`` (found, else built with Go), the native
core (cargo; else the pure-Python search), the base, target and declared node images (by content hash).
``chaos doctor`` then says what is ready and what is missing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from harness.errors import EXIT_OK, InfrastructureError
from harness.paths import chaos_home, is_checkout, native_crate, native_library, setup_script


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "setup",
        help="prepare this machine: Docker engine, Toxiproxy, native checker core, images (idempotent)",
        description="Prepare this machine for chaos-harness (the steps of scripts/setup); each step is "
        "skipped when already done. State goes to $CHAOS_HOME, else .chaos of a checkout, else "
        "~/.cache/chaos-harness.",
    )
    p.add_argument(
        "--no-docker",
        action="store_true",
        help="the local backend only: no engine, no images (CHAOS_NO_DOCKER=1)",
    )
    p.set_defaults(func=handler)


def environment(no_docker: bool = False) -> dict[str, str]:
    """The set-up script's environment for this interpreter and installation (see the module docstring)."""
    env = {
        **os.environ,
        "CHAOS_SETUP_PYTHON": sys.executable,
        "CHAOS_HOME": str(chaos_home()),
        "CHAOS_NATIVE_CRATE": str(native_crate()),
    }
    if not is_checkout():
        env["CHAOS_NATIVE_OUT"] = str(native_library("lib").parent)
    if no_docker:
        env["CHAOS_NO_DOCKER"] = "1"
    return env


def handler(args: argparse.Namespace) -> int:
    script = setup_script()
    if not script.is_file():
        raise InfrastructureError(f"the set-up script {script} is missing: reinstall chaos-harness")
    chaos_home().mkdir(parents=True, exist_ok=True)
    code = subprocess.run(["bash", str(script)], env=environment(args.no_docker), check=False).returncode
    if code != 0:
        raise InfrastructureError(
            f"set-up stopped (exit {code}) at the step it names above; fix that and run it again"
        )
    return EXIT_OK
