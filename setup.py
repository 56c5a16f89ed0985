"""Packaging beyond pyproject.toml: which import packages the distribution installs, under which names, and
the files a wheel carries beside the code.

``harness`` installs as itself. The bundled targets (``targets/``) and the example targets (``examples/``)
keep their folders but install as ``chaos_targets`` and ``chaos_examples``: a top-level package called
``targets`` or ``examples`` would shadow any user's own module of that name once chaos-harness is installed.

An installed harness has no checkout, so the set-up script (``scripts/setup``, run by ``chaos setup``) and the
native core's crate (``native/linsearch``: built by set-up, the pure-Python search otherwise) are copied into
the wheel as ``harness/shipped/`` (``harness.paths`` finds them there). ``MANIFEST.in`` puts them in the sdist,
from which ``python -m build`` builds the wheel.
"""

import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

INSTALLED_AS = {"targets": "chaos_targets", "examples": "chaos_examples"}
# (file in the checkout, where it goes inside the package harness)
SHIPPED = [
    ("scripts/setup", "shipped/setup"),
    ("native/linsearch/Cargo.toml", "shipped/linsearch/Cargo.toml"),
    ("native/linsearch/Cargo.lock", "shipped/linsearch/Cargo.lock"),
    ("native/linsearch/src/lib.rs", "shipped/linsearch/src/lib.rs"),
]


def _installed_name(package: str) -> str:
    top, _, rest = package.partition(".")
    name = INSTALLED_AS.get(top, top)
    return f"{name}.{rest}" if rest else name


class BuildWithShippedFiles(build_py):
    """``build_py`` plus the ``SHIPPED`` files copied under ``harness/`` (executable bits kept)."""

    def run(self) -> None:
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        for src, dst in SHIPPED:
            target = os.path.join(self.build_lib, "harness", dst)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.join(here, src), target)


setup(
    packages=[
        _installed_name(p)
        for p in find_packages(include=["harness", "harness.*", *(f"{folder}*" for folder in INSTALLED_AS)])
    ],
    package_dir={name: folder for folder, name in INSTALLED_AS.items()},
    cmdclass={"build_py": BuildWithShippedFiles},
)
