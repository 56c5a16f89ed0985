"""CHANGELOG.md is kept (issue 23 point 12): an ``## Unreleased`` section first, then versions; behaviour
changes users must know are in it, the local backend's kill reaching every descendant (issue 14) among
them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_changelog_has_unreleased_first_then_the_current_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    heads = re.findall(r"^## (.+)$", text, flags=re.M)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert heads[0] == "Unreleased" and version in heads
    assert re.search(r"^### .+", text.split("## Unreleased", 1)[1], flags=re.M)  # entries under a topic


def test_the_local_kill_change_and_the_declaration_changes_are_announced() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "every descendant" in text and "setsid" in text
    for feature in ("files", "first_start", "start_after", "chaos build", "DIST:NAME", "model_verdicts"):
        assert feature in text, feature
