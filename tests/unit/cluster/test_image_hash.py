"""The target image's content hash: stable for an unchanged tree, new when a target or the base changes."""

from __future__ import annotations

import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from harness.cluster import image


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "targets" / "image").mkdir(parents=True)
    (tmp_path / "targets" / "image" / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "targets" / "echo").mkdir()
    (tmp_path / "targets" / "echo" / "node.py").write_text("print(1)\n")
    (tmp_path / "targets" / "echo" / "__pycache__").mkdir()
    (tmp_path / "targets" / "echo" / "__pycache__" / "node.cpython-311.pyc").write_bytes(b"junk")
    (tmp_path / "toxiproxy-server").write_bytes(b"\x7fELF")
    (tmp_path / "targets" / "echo" / "README.md").write_text("notes: not shipped in a wheel\n")
    monkeypatch.setattr(image, "targets_dir", lambda: tmp_path / "targets")
    return tmp_path


def test_hash_is_stable_and_covers_targets_base_and_binary(tree: Path) -> None:
    tp = tree / "toxiproxy-server"
    h = image.content_hash("sha256:base", tp)
    assert h == image.content_hash("sha256:base", tp)
    (tree / "targets" / "echo" / "__pycache__" / "node.cpython-311.pyc").write_bytes(b"other junk")
    assert h == image.content_hash("sha256:base", tp)
    (tree / "targets" / "echo" / "README.md").write_text("other notes\n")  # a wheel has no READMEs: same hash
    assert h == image.content_hash("sha256:base", tp)
    assert h != image.content_hash("sha256:other", tp)
    (tree / "targets" / "echo" / "node.py").write_text("print(2)\n")
    h2 = image.content_hash("sha256:base", tp)
    assert h2 != h
    tp.write_bytes(b"\x7fELF2")
    assert image.content_hash("sha256:base", tp) != h2


def test_build_context_holds_dockerfile_targets_and_toxiproxy(tree: Path) -> None:
    with tarfile.open(fileobj=BytesIO(image.build_context(tree / "toxiproxy-server"))) as tar:
        names = set(tar.getnames())
    assert {"Dockerfile", "toxiproxy-server", "targets/echo/node.py", "targets/image/Dockerfile"} <= names
    assert not any("__pycache__" in n or n.endswith("README.md") for n in names)


def test_base_candidates_prefer_env_then_setup_choice(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_HOME", str(tree))
    (tree / "base-image").write_text("chaos-harness/base:x\n")
    monkeypatch.setenv("CHAOS_BASE_IMAGE", "mine:1")
    assert image.base_candidates() == ["mine:1", "chaos-harness/base:x", "python:3.11-slim"]
