"""Where checker tests find the reference corpus (../shared/corpus or $CHAOS_CORPUS).

Without the corpus the corpus tests skip on a developer machine, but FAIL when ``CI`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def corpus_dir() -> Path | None:
    env = os.environ.get("CHAOS_CORPUS")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "corpus")
    for c in candidates:
        if (c / "porcupine" / "MANIFEST.tsv").is_file():
            return c
    return None
