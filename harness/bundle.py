"""The on-disk layout of one run (a *bundle*), written in phases and read back by reports and replays.

    reports/<experiment>/<YYYYmmdd-HHMMSS-mmm>/
        experiment.yaml    the experiment file as given (copied before anything starts)
        run.json           the run record (``harness.record.RunRecord``): the resolved experiment, seed,
                           target, mode, backend, replay command, status, outcome (``harness.outcome``),
                           evidence (``harness.evidence``), a crashed run's crashes and error
        history.jsonl      every client op and nemesis (fault) op, streamed while recorded
        logs/<node>.log    node logs, collected before the cluster is removed (also after a failure)
        results.json       checker results (``harness.record.ResultsRecord``): {"valid": ..., "results":
                           {name: Result.to_dict()}} + "outcome", "evidence"; "valid" is weighed by the
                           evidence, each result keeps its own (details typed: ``harness.checkers.details``)
        report.html        rendered afterwards from the files above
    reports/<experiment>/latest -> <YYYYmmdd-HHMMSS-mmm>

Only the runner writes bundles; checkers never do; the report only reads them.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.atomic import write_whole
from harness.checkers.base import Composite
from harness.errors import BadInput, InfrastructureError
from harness.history import History, read_jsonl
from harness.limits import check_name, within
from harness.record import RUN_FILE_NAME, ResultsRecord, RunRecord
from harness.record import read as read_record
from harness.record import read_results as read_results_record
from harness.record import write as write_record

EXPERIMENT_FILE = "experiment.yaml"
RUN_FILE = RUN_FILE_NAME
HISTORY_FILE = "history.jsonl"
LOGS_DIR = "logs"
RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"
LATEST = "latest"


def _write_json_atomic(path: Path, data: Any) -> None:
    write_whole(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@dataclass(frozen=True)
class Bundle:
    """A run directory; construct with ``Bundle.create`` (new run) or ``Bundle.open`` (existing run)."""

    path: Path

    @classmethod
    def create(cls, out_dir: str | os.PathLike[str], experiment_name: str) -> Bundle:
        """Make ``out_dir/<experiment>/<timestamp>/`` (unique) and point ``latest`` at it; a name that would
        leave ``out_dir`` (a separator, ``..``) is bad input, wherever it came from."""
        check_name(experiment_name, "experiment name")
        parent = within(Path(out_dir) / experiment_name, Path(out_dir), "the bundle directory")
        try:
            return cls._make(parent)
        except OSError as e:  # --out /etc/passwd/x, a read-only or full disk: one line naming the directory
            where = e.filename if isinstance(e.filename, str) else parent
            raise InfrastructureError(
                f"cannot create the run's directory {where}: {(e.strerror or str(e)).lower()} (--out)"
            ) from None

    @classmethod
    def _make(cls, parent: Path) -> Bundle:
        parent.mkdir(parents=True, exist_ok=True)
        now = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now * 1000) % 1000:03d}"
        path = parent / stamp
        n = 1
        while path.exists():
            path = parent / f"{stamp}.{n}"
            n += 1
        path.mkdir()
        (path / LOGS_DIR).mkdir()
        latest = parent / LATEST
        tmp_link = parent / f".{LATEST}.{os.getpid()}"
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        tmp_link.symlink_to(path.name)
        os.replace(tmp_link, latest)
        return cls(path)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Bundle:
        p = Path(path)
        if (p / LATEST).exists() and not (p / RUN_FILE).exists():
            p = (p / LATEST).resolve()
        if not (p / RUN_FILE).is_file() and not (p / HISTORY_FILE).is_file():
            raise BadInput(
                f"{path}: not a run bundle (no {RUN_FILE} or {HISTORY_FILE}); pass a run directory"
            )
        return cls(p)

    # paths
    @property
    def experiment_file(self) -> Path:
        return self.path / EXPERIMENT_FILE

    @property
    def run_file(self) -> Path:
        return self.path / RUN_FILE

    @property
    def history_file(self) -> Path:
        return self.path / HISTORY_FILE

    @property
    def logs_dir(self) -> Path:
        return self.path / LOGS_DIR

    @property
    def results_file(self) -> Path:
        return self.path / RESULTS_FILE

    @property
    def report_file(self) -> Path:
        return self.path / REPORT_FILE

    # writes (runner only)
    def write_run(self, record: RunRecord) -> None:
        write_record(self.run_file, record)

    def update_run(self, **changes: Any) -> RunRecord:
        """The record on disk with ``changes`` (field names of ``RunRecord``) applied, written back whole."""
        record = replace(self.read_run() if self.run_file.exists() else RunRecord(), **changes)
        self.write_run(record)
        return record

    def write_results(self, composite: Composite, **extra: Any) -> None:
        data = composite.to_dict()
        data.update(extra)
        _write_json_atomic(self.results_file, data)

    # reads
    def read_run(self) -> RunRecord:
        """The run record, read strictly (``harness.record.read``); ``BadInput`` names the file and field."""
        return read_record(self.run_file)

    def read_history(self) -> History:
        if not self.history_file.exists():
            return History()
        return read_jsonl(self.history_file)

    def read_results(self) -> ResultsRecord | None:
        """The checkers' results with typed details (``None``: the run was never checked)."""
        if not self.results_file.exists():
            return None
        return read_results_record(self.results_file)

    def node_logs(self) -> dict[str, str]:
        if not self.logs_dir.is_dir():
            return {}
        return {
            p.stem: p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(self.logs_dir.glob("*.log"))
        }
