"""Fixtures for checker tests: ``corpus`` is the reference corpus directory (see checker_corpus.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from checker_corpus import corpus_dir


@pytest.fixture(scope="session")
def corpus() -> Path:
    found = corpus_dir()
    if found is None:
        msg = "reference corpus not found: set CHAOS_CORPUS or put it at ../shared/corpus"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return found
