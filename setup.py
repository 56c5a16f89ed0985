"""Packaging beyond pyproject.toml: which import packages the distribution installs, and under which names.

``harness`` installs as itself. The bundled targets (``targets/``) and the example targets (``examples/``)
keep their folders but install as ``chaos_targets`` and ``chaos_examples``: a top-level package called
``targets`` or ``examples`` would shadow any user's own module of that name once chaos-harness is installed.
"""

from setuptools import find_packages, setup

INSTALLED_AS = {"targets": "chaos_targets", "examples": "chaos_examples"}


def _installed_name(package: str) -> str:
    top, _, rest = package.partition(".")
    name = INSTALLED_AS.get(top, top)
    return f"{name}.{rest}" if rest else name


setup(
    packages=[
        _installed_name(p)
        for p in find_packages(include=["harness", "harness.*", *(f"{folder}*" for folder in INSTALLED_AS)])
    ],
    package_dir={name: folder for folder, name in INSTALLED_AS.items()},
)
