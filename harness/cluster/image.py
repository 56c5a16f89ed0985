"""The target image's build context and content hash (pure file work; ``docker.py`` does the building).

``node_dockerfile`` / ``build_hash`` do the same for the images targets declare (``ImageBuild``: the base
image plus Debian packages), tagged ``chaos-harness/node:<hash>``.

The context is ``targets/image/Dockerfile`` + the repository's ``targets/`` tree (caches excluded) + the
static ``toxiproxy-server``. The tag ``chaos-harness/target:<hash>`` covers all of it plus the base
image's id, so an unchanged tree never rebuilds and an edited target rebuilds in about a second.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

from harness.cluster.rundir import chaos_home, project_root
from harness.target import ImageBuild

REPO = "chaos-harness/target"
NODE_REPO = "chaos-harness/node"  # images built from the base image plus a target's Debian packages
DEFAULT_BASES = ("python:3.11-slim",)
SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def dockerfile() -> Path:
    return project_root() / "targets" / "image" / "Dockerfile"


def target_files() -> list[tuple[str, Path]]:
    """(path inside the context, file on disk) for every file of ``targets/``, sorted."""
    root = project_root()
    out = []
    for dirpath, dirnames, filenames in os.walk(root / "targets"):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            p = Path(dirpath) / name
            out.append((str(p.relative_to(root)), p))
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
