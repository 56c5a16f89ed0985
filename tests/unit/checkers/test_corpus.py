"""All 108 Porcupine reference histories get the verdict their MANIFEST states, through ``chaos check``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from checker_corpus import corpus_dir

from harness.cli import main

_CORPUS = corpus_dir()
_ROWS = (
    list(csv.DictReader((_CORPUS / "porcupine" / "MANIFEST.tsv").open(), delimiter="\t")) if _CORPUS else []
)
EXIT = {"true": 0, "false": 1}


def test_manifest_lists_108_files(corpus: Path) -> None:
    rows = list(csv.DictReader((corpus / "porcupine" / "MANIFEST.tsv").open(), delimiter="\t"))
    assert len(rows) == 108
    assert sum(r["file"].startswith("jepsen/") for r in rows) == 102


@pytest.mark.parametrize("row", _ROWS, ids=[r["file"] for r in _ROWS])
def test_verdict_matches_manifest(
    corpus: Path, row: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = corpus / "porcupine" / row["file"]
    code = main(["check", str(path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == EXIT[row["expected_linearizable"]], out["summary"]
    assert out["details"]["ops"] > 0


@pytest.mark.parametrize("name", ["c01-ok", "c01-bad", "c10-ok", "c10-bad"])
def test_kv_whole_map_agrees(corpus: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The unpartitioned map model gives the same verdicts (slower: one part of all keys)."""
    code = main(["check", str(corpus / "porcupine" / "kv" / f"{name}.txt"), "--model", "kv-map", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == (0 if name.endswith("ok") else 1)
    assert out["details"]["parts"] == 1


def test_c50_whole_map_is_unknown_not_wrong_within_a_small_budget(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = corpus / "porcupine" / "kv" / "c50-ok.txt"
    code = main(["check", str(path), "--model", "kv-map", "--time-limit", "0.5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code in (0, 2)
    if code == 2:
        assert out["valid"] == "unknown" and out["details"]["unknown_parts"] == [None]


def test_illegal_etcd_history_explains_itself(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(corpus / "porcupine" / "jepsen" / "etcd_000.log"), "--json"])
    details = json.loads(capsys.readouterr().out)["details"]
    assert code == 1
    part = details["failed_part"]
    assert part["longest"] and all(len(seq) == len(part["longest"][0]) for seq in part["longest"])
    assert part["stuck_ops"] and set(part["stuck_ops"]) <= set(part["ops"])
    assert not set(part["stuck_ops"]) & set(part["longest"][0])
    assert details["unknown_parts"] == []
