"""The target image's build context and content hash (pure file work; ``docker.py`` does the building).

``node_dockerfile`` / ``build_hash`` do the same for the images targets declare (``ImageBuild``: the base
image plus Debian packages), tagged ``chaos-harness/node:<hash>``.

The context is ``targets/image/Dockerfile`` + the bundled targets' files (``targets/`` of a checkout, or
the installed ``chaos_targets`` package; caches and READMEs excluded) + the static ``toxiproxy-server``. The
tag ``chaos-harness/target:<hash>`` covers all of it plus the base image's id, so an unchanged tree never
rebuilds and an edited target rebuilds in about a second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import tarfile
from pathlib import Path

from harness.cluster.rundir import chaos_home
from harness.errors import InfrastructureError
from harness.target import ImageBuild

REPO = "chaos-harness/target"
NODE_REPO = "chaos-harness/node"  # images built from the base image plus a target's Debian packages
DEFAULT_BASES = ("python:3.11-slim",)
SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache"}
# What a wheel installs of chaos_targets (pyproject.toml's package-data plus the code): the image context.
SHIPPED_SUFFIXES = (".py", ".json", ".html", ".css", ".js", ".txt", ".yaml")
SHIPPED_NAMES = ("Dockerfile",)


def targets_dir() -> Path:
    """The bundled targets' folder: ``targets/`` of a checkout, the installed ``chaos_targets`` package of a
    wheel (the same files: the image holds them as ``/app/chaos_targets`` either way)."""
    spec = importlib.util.find_spec("chaos_targets")
    if spec is None or not spec.submodule_search_locations:
        raise InfrastructureError("the bundled targets (package chaos_targets) are not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def dockerfile() -> Path:
    return targets_dir() / "image" / "Dockerfile"


def target_files() -> list[tuple[str, Path]]:
    """(path inside the context, file on disk) for every file of the bundled targets that a wheel ships too
    (``SHIPPED_SUFFIXES``: code and package data, not READMEs), sorted: a checkout and an installed harness
    give the same content hash, so one built image serves both."""
    root = targets_dir()
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if not name.endswith(SHIPPED_SUFFIXES) and name not in SHIPPED_NAMES:
                continue
            p = Path(dirpath) / name
            out.append((str(Path("targets") / p.relative_to(root)), p))
    return out


def base_candidates() -> list[str]:
    """Base images in order of preference: $CHAOS_BASE_IMAGE, the one setup chose, python:3.11-slim."""
    out = []
    if os.environ.get("CHAOS_BASE_IMAGE"):
        out.append(os.environ["CHAOS_BASE_IMAGE"])
    chosen = chaos_home() / "base-image"
    if chosen.is_file() and chosen.read_text().strip():
        out.append(chosen.read_text().strip())
    out.extend(DEFAULT_BASES)
    return list(dict.fromkeys(out))


def content_hash(base_id: str, toxiproxy: Path) -> str:
    h = hashlib.sha256()
    h.update(b"base\0" + base_id.encode() + b"\0")
    h.update(b"Dockerfile\0" + dockerfile().read_bytes())
    for rel, path in target_files():
        h.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    h.update(b"toxiproxy\0" + hashlib.sha256(toxiproxy.read_bytes()).digest())
    return h.hexdigest()[:16]


def build_context(toxiproxy: Path) -> bytes:
    """The build context as an in-memory tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(dockerfile(), arcname="Dockerfile")
        tar.add(toxiproxy, arcname="toxiproxy-server")
        for rel, path in target_files():
            tar.add(path, arcname=rel, recursive=False)
    return buf.getvalue()


def node_dockerfile(spec: ImageBuild) -> str:
    """The Dockerfile of a declared node image: the base image, Debian packages, then the extra lines."""
    lines = ["ARG BASE", "FROM ${BASE}"]
    if spec.packages:
        lines.append(
            "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
            + " ".join(spec.packages)
            + " && rm -rf /var/lib/apt/lists/*"
        )
    lines.extend(spec.lines)
    return "\n".join(lines) + "\n"


def build_hash(base_id: str, spec: ImageBuild) -> str:
    """The content hash that tags a declared node image: the base image's id and the Dockerfile."""
    h = hashlib.sha256()
    h.update(b"base\0" + base_id.encode() + b"\0")
    h.update(b"Dockerfile\0" + node_dockerfile(spec).encode())
    return h.hexdigest()[:16]
