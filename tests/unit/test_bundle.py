"""The bundle layout: phased writes, the latest pointer, and clear errors on a directory that is not a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.bundle import Bundle
from harness.checkers.base import Composite, Result
from harness.errors import BadInput
from harness.history import HistoryWriter
from harness.record import RunRecord


def test_create_points_latest_at_newest_run(tmp_path: Path) -> None:
    a = Bundle.create(tmp_path, "exp")
    b = Bundle.create(tmp_path, "exp")
    assert a.path != b.path
    assert (tmp_path / "exp" / "latest").resolve() == b.path.resolve()
    b.write_run(RunRecord.from_dict({"experiment": "exp", "seed": 7}))
    assert Bundle.open(tmp_path / "exp").path.resolve() == b.path.resolve()


def test_history_streams_and_results_round_trip(tmp_path: Path) -> None:
    bundle = Bundle.create(tmp_path, "exp")
    bundle.write_run(RunRecord.from_dict({"experiment": "exp", "seed": 1, "status": "running"}))
    with HistoryWriter(bundle.history_file) as w:
        w.record(0, "invoke", "read", {"key": "a", "value": None})
        # Before close, the line is already on disk: a crash would keep it.
        assert bundle.history_file.read_text().count("\n") == 1
        w.record(0, "ok", "read", {"key": "a", "value": 3})
    hist = bundle.read_history()
    assert [op.type for op in hist] == ["invoke", "ok"]
    assert hist.pairs()[0].value == {"key": "a", "value": 3}
    bundle.write_results(Composite({"lin": Result("lin", False, "stale read")}), outcome="pass")
    data = bundle.read_results()
    assert data is not None and data.valid is False and data.outcome == "pass"
    assert data.results["lin"].summary == "stale read"
    assert bundle.update_run(status="finished").seed == 1


def test_open_rejects_non_bundle_and_corrupt_json(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not a run bundle"):
        Bundle.open(tmp_path)
    bundle = Bundle.create(tmp_path, "exp")
    bundle.run_file.write_text("{nope")
    with pytest.raises(BadInput, match=r"run\.json:1: not valid JSON"):
        Bundle.open(bundle.path).read_run()
    assert json.loads(json.dumps(Bundle.open(bundle.path).node_logs())) == {}
