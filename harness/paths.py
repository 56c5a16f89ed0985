"""Where the harness finds its own files and keeps its state, in a checkout and when installed from a wheel.

A *checkout* is this repository with the package installed editable (``scripts/setup``): the state directory
is ``<checkout>/.chaos``, the set-up script ``scripts/setup``, the native core's crate ``native/linsearch``.
An *installed* harness (``pip install chaos-harness`` into another project's venv) has no checkout: its state
directory is a per-user cache, ``$XDG_CACHE_HOME/chaos-harness`` (default ``~/.cache/chaos-harness``), and the
set-up script and the crate's sources ship inside the package under ``harness/shipped/`` (``setup.py`` copies
them there when it builds a wheel). ``CHAOS_HOME`` overrides the state directory in both cases.
"""

from __future__ import annotations

import os
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent / "shipped"  # what a wheel carries beside the code (setup.py)
SETUP_SCRIPT = "setup"  # scripts/setup in a checkout, shipped/setup in a wheel
NATIVE_CRATE = "linsearch"  # native/linsearch in a checkout, shipped/linsearch in a wheel


def project_root() -> Path:
    """The checkout holding this package (for an installed harness: the directory above the package)."""
    return Path(__file__).resolve().parents[1]


def is_checkout() -> bool:
    """Whether the harness runs from this repository's checkout (an editable install) rather than a wheel."""
    root = project_root()
    return (root / "pyproject.toml").is_file() and (root / "scripts" / SETUP_SCRIPT).is_file()


def chaos_home() -> Path:
    """The state directory: ``$CHAOS_HOME``, else ``.chaos`` of the checkout, else the per-user cache."""
    env = os.environ.get("CHAOS_HOME")
    if env:
        return Path(env)
    if is_checkout():
        return project_root() / ".chaos"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "chaos-harness"


def setup_script() -> Path:
    """The one set-up script (``chaos setup`` runs it; in a checkout it is ``scripts/setup`` itself)."""
    return project_root() / "scripts" / SETUP_SCRIPT if is_checkout() else SHIPPED / SETUP_SCRIPT


def native_crate() -> Path:
    """The native core's Rust crate (its ``Cargo.toml`` is in this directory)."""
    return project_root() / "native" / NATIVE_CRATE if is_checkout() else SHIPPED / NATIVE_CRATE


def native_library(name: str) -> Path:
    """Where the built native core is loaded from: cargo's output in a checkout, else the state directory."""
    if is_checkout():
        return native_crate() / "target" / "release" / name
    return chaos_home() / "native" / name


SETUP_HINT = "run scripts/setup" if is_checkout() else "run chaos setup"
