"""The target image is cached by content hash: an unchanged tree builds nothing, an edited target rebuilds
quickly, and the image holds /app/targets and the static toxiproxy-server."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from harness.cluster import docker as dk
from harness.cluster import image
from harness.cluster.toxiproxy_server import require_toxiproxy

pytestmark = pytest.mark.integration


def test_unchanged_tree_builds_nothing_edited_target_rebuilds_fast(
    docker_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = dk.client()
    tag = dk.ensure_image(c)
    before = c.images.get(tag).id
    assert dk.ensure_image(c) == tag and c.images.get(tag).id == before

    shutil.copytree(
        image.targets_dir(), tmp_path / "targets", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "targets" / "echo" / "extra.txt").write_text(f"edited {time.time()}\n")
    monkeypatch.setattr(image, "targets_dir", lambda: tmp_path / "targets")
    new = dk.ensure_image(c)
    try:
        assert new != tag, new
        out = c.containers.run(
            new,
            [
                "sh",
                "-c",
                "cat /app/chaos_targets/echo/extra.txt; test -x /usr/local/bin/toxiproxy-server && echo ok",
            ],
            remove=True,
            network_mode="none",
        )
        assert b"edited" in out and out.strip().endswith(b"ok")
    finally:
        c.images.remove(new, force=True)
        c.close()


def test_clean_images_removes_outdated_unused_target_images(
    docker_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.cli.clean import clean

    c = dk.client()
    current = dk.ensure_image(c)
    shutil.copytree(
        image.targets_dir(), tmp_path / "targets", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "targets" / "echo" / "extra.txt").write_text(f"old {time.time()}\n")
    with monkeypatch.context() as m:
        m.setattr(image, "targets_dir", lambda: tmp_path / "targets")
        old = dk.ensure_image(c)
    assert old != current
    removed = clean(run_id="no-such-run", images=True)
    assert f"image {old}" in removed
    assert not c.images.list(name=old)
    # the image of the tree as it is now is kept (computed, not built: building would hide a removal)
    now = f"{image.REPO}:{image.content_hash(dk.base_image(c).id, require_toxiproxy())}"
    assert c.images.list(name=now)
    c.close()
