"""The run record: what a bundle's ``run.json`` holds, as one frozen dataclass with one writer and one reader;
and ``ResultsRecord``, what its ``results.json`` holds (the checkers' results with typed details).

The runner (``harness.run``) writes it in phases -- the experiment's facts and ``status: running`` before
anything starts, ``phase`` / ``phases`` as each begins, and at the end ``status`` with the ``outcome``
(``harness.outcome``), the evidence, timings and, for a crashed run, its crashes -- always as a whole record
changed with ``dataclasses.replace`` (``Bundle.update_run``), never as a dict patched by key. Every reader
(the report, ``chaos summary`` and its trends, ``chaos replay`` / ``shrink``, ``chaos check`` beside a bundle,
the pytest plugin through the runner's ``RunResult``) reads it through ``read``.

The JSON shape is the one bundles always had: every field is optional (a field that is ``None`` is simply not
written), so bundles written before a field existed still read, and a key this version does not know is kept
in ``extra`` and written back unchanged. What the reader refuses -- a file that is not a JSON object, a field
of the wrong type, an object with none of the record's fields -- is ``BadInput``: one line naming the file and
the field and what would be valid.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.checkers.base import UNKNOWN, Result, Validity
from harness.crash import Crash
from harness.errors import BadInput
from harness.evidence import Evidence
from harness.limits import decode_utf8, read_bounded

RUN_FILE_NAME = "run.json"
MAX_BUNDLE_JSON_BYTES = 256 << 20  # run.json / results.json: refuse anything absurd before reading it

# What ``status`` says: the run is going on, ended and was checked, crashed (a worker or the nemesis raised,
# or the runner itself), was interrupted (SIGINT / SIGTERM), or its runner died and ``chaos clean`` marked it.
# ``done`` is what the first bundles (before ``finished``) said; they still read.
STATUSES = ("running", "finished", "crashed", "interrupted", "killed")
LEGACY_STATUSES = ("done",)


@dataclass(frozen=True)
class Phase:
    """One phase of the run as it began: its name and the seconds since the run started."""

    phase: str
    at_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "at_s": self.at_s}


@dataclass(frozen=True)
class RunRecord:
    """``run.json``. ``None``: not recorded (yet, or by the version of the harness that wrote the bundle)."""

    # the experiment, written before anything starts
    experiment: str | None = None
    seed: int | None = None
    expect: str | None = None  # valid / invalid
    target: str | None = None
    flags: tuple[str, ...] | None = None  # planted bugs switched on
    backend: str | None = None
    nodes: tuple[str, ...] | None = None
    workload: Mapping[str, Any] | None = None  # the experiment's workload block
    resolved: Mapping[str, Any] | None = None  # the whole experiment after defaults and overrides
    schedule: tuple[Mapping[str, Any], ...] | None = None  # ``Schedule.to_list()``
    overrides: Mapping[str, Any] | None = None  # command-line overrides (backend, duration), replayed
    replay: str | None = None  # the command that replays the run
    started: str | None = None
    python: str | None = None
    code_version: str | None = None  # ``harness.provenance``
    # while it runs
    status: str | None = None  # one of STATUSES
    phase: str | None = None
    phases: tuple[Phase, ...] | None = None
    steady_state: Mapping[str, Any] | None = None  # ``harness.run_guard``: held or not, and why
    aborted: Mapping[str, Any] | None = None  # the abort condition that stopped the faults
    # at the end
    outcome: str | None = None  # ``harness.outcome``: pass / fail / unknown / crashed
    verdict: str | None = None  # the outcome in words: "as expected", "invariant violated", ...
    exit_code: int | None = None
    ops: int | None = None  # history entries recorded
    timings: Mapping[str, float] | None = None  # setup_s, workload_s, ops_per_s, teardown_s, check_s
    evidence: Evidence | None = None  # ``harness.evidence``
    finished: str | None = None
    error: str | None = None  # why a run crashed or was killed, in one line
    crashes: tuple[Crash, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys of a newer harness, kept as they were

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``run.json``: the fields that are set, plus ``extra``."""
        out: dict[str, Any] = dict(self.extra)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extra" or value is None:
                continue
            out[f.name] = _jsonable(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | os.PathLike[str] = RUN_FILE_NAME) -> RunRecord:
        """Check and convert a ``run.json`` object; a wrong field is ``BadInput`` naming ``source`` and it."""
        known = {f.name for f in fields(cls)} - {"extra"}
        if data and not known & set(data):
            raise BadInput(
                f"{source}: not a chaos-harness run record (none of its keys is a run.json field such as "
                "experiment, seed, status); pass a run bundle's directory"
            )
        given = [name for name in known & set(data) if data[name] is not None]
        values = {name: _field(source, name, data[name]) for name in given}
        if values.get("status") is not None and values["status"] not in STATUSES + LEGACY_STATUSES:
            raise BadInput(
                f"{source}: field 'status' must be one of {', '.join(STATUSES)}, got {_short(data['status'])}"
            )
        extra = {k: v for k, v in data.items() if k not in known and k != "extra"}
        return cls(**values, extra=extra)


@dataclass(frozen=True)
class ResultsRecord:
    """``results.json``: each checker's ``Result`` by name (details typed by ``harness.checkers.details``),
    ``valid`` (the composed verdict weighed by the evidence), the ``outcome`` and ``verdict`` the runner
    decided, ``expect``, ``exit_code``, ``seed`` and the ``evidence``. ``None``: not recorded."""

    results: Mapping[str, Result] = field(default_factory=dict)
    valid: Validity | None = None
    outcome: str | None = None
    verdict: str | None = None
    expect: str | None = None
    exit_code: int | None = None
    seed: int | None = None
    evidence: Evidence | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def violation(self) -> bool:
        """Whether some checker proved a violation (a violation needs no more evidence)."""
        return any(r.valid is False for r in self.results.values())

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], source: str | os.PathLike[str] = "results.json"
    ) -> ResultsRecord:
        from harness.checkers.contract import Checkers  # checker modules: only when results are read
        from harness.checkers.details import read_result

        checkers = Checkers()

        raw = data.get("results", {})
        if not isinstance(raw, Mapping):
            raise BadInput(
                f"{source}: field 'results' must be an object of checker results, got {_short(raw)}"
            )
        results: dict[str, Result] = {}
        for name, r in raw.items():
            if not isinstance(r, Mapping) or not isinstance(r.get("checker", name), str):
                raise BadInput(
                    f"{source}: field 'results.{name}' must be a checker result object, got {_short(r)}"
                )
            if not _validity(r.get("valid")):
                raise BadInput(
                    f"{source}: field 'results.{name}.valid' must be true, false or \"unknown\", "
                    f"got {_short(r.get('valid'))}"
                )
            try:
                results[str(name)] = read_result({"checker": name, **r}, checkers)
            except (TypeError, ValueError, AttributeError, KeyError):
                raise BadInput(
                    f"{source}: field 'results.{name}' is not a checker result: {_short(r)}"
                ) from None
        valid = data.get("valid")
        if valid is not None and not _validity(valid):
            raise BadInput(f"{source}: field 'valid' must be true, false or \"unknown\", got {_short(valid)}")
        typed = ("outcome", "verdict", "expect", "exit_code", "seed", "evidence")
        values = {name: _field(source, name, data[name]) for name in typed if data.get(name) is not None}
        known = {"results", "valid", *typed}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(results, valid, extra=extra, **values)


def read_results(path: Path) -> ResultsRecord:
    """Read ``results.json`` strictly; errors are ``BadInput`` naming the file and the field."""
    return ResultsRecord.from_dict(_read_object(path, "results.json"), path)


def read(path: Path) -> RunRecord:
    """Read ``run.json`` strictly (bounded size, a JSON object, typed fields); errors are ``BadInput``."""
    return RunRecord.from_dict(_read_object(path, "run record"), path)


def _read_object(path: Path, what: str) -> dict[str, Any]:
    text = decode_utf8(read_bounded(path, MAX_BUNDLE_JSON_BYTES, "bundle JSON"), path, "expected JSON")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    except RecursionError:
        raise BadInput(f"{path}: nested too deeply to be a bundle file") from None
    except ValueError as e:  # an integer past Python's digit limit
        raise BadInput(f"{path}: {e}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a JSON object (a {what}), got {type(data).__name__}")
    return data


def write(path: Path, record: RunRecord) -> None:
    """The one writer of ``run.json``: the whole record, atomically (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    text = json.dumps(record.to_dict(), indent=2, sort_keys=True, default=str) + "\n"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- field checks: (what would be valid, converter that raises on anything else)


def _field(source: str | os.PathLike[str], name: str, raw: Any) -> Any:
    """``raw`` converted by ``_FIELDS[name]``; anything else is ``BadInput`` naming the file and the field."""
    what, convert = _FIELDS[name]
    try:
        return convert(raw)
    except (TypeError, ValueError, AttributeError, KeyError):
        raise BadInput(f"{source}: field {name!r} must be {what}, got {_short(raw)}") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (Evidence, Crash, Phase)):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _validity(v: Any) -> bool:
    return isinstance(v, bool) or v == UNKNOWN


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError
    return v


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError
    return v


def _mapping(v: Any) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise TypeError
    return dict(v)


def _strings(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, (str, int)) for x in v):
        raise TypeError
    return tuple(str(x) for x in v)


def _objects(v: Any) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(v, list) or not all(isinstance(x, Mapping) for x in v):
        raise TypeError
    return tuple(dict(x) for x in v)


def _numbers(v: Any) -> Mapping[str, float]:
    if not isinstance(v, Mapping) or not all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in v.values()
    ):
        raise TypeError
    return dict(v)


def _phases(v: Any) -> tuple[Phase, ...]:
    out = []
    for p in _objects(v):
        at = p["at_s"]
        if isinstance(at, bool) or not isinstance(at, (int, float)):
            raise TypeError
        out.append(Phase(_str(p["phase"]), at))
    return tuple(out)


def _evidence(v: Any) -> Evidence:
    return Evidence.from_dict(_mapping(v))


def _crashes(v: Any) -> tuple[Crash, ...]:
    return tuple(Crash.from_dict(c) for c in _objects(v))


TEXT, INT, OBJECT = "a string", "an integer", "a JSON object"
_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "experiment": (TEXT, _str),
    "seed": (INT, _int),
    "expect": (TEXT, _str),
    "target": (TEXT, _str),
    "flags": ("a list of strings", _strings),
    "backend": (TEXT, _str),
    "nodes": ("a list of node names", _strings),
    "workload": (OBJECT, _mapping),
    "resolved": (OBJECT, _mapping),
    "schedule": ("a list of fault events (objects)", _objects),
    "overrides": (OBJECT, _mapping),
    "replay": (TEXT, _str),
    "started": (TEXT, _str),
    "python": (TEXT, _str),
    "code_version": (TEXT, _str),
    "status": (TEXT, _str),
    "phase": (TEXT, _str),
    "phases": ('a list of {"phase": name, "at_s": seconds}', _phases),
    "steady_state": (OBJECT, _mapping),
    "aborted": (OBJECT, _mapping),
    "outcome": (TEXT, _str),
    "verdict": (TEXT, _str),
    "exit_code": (INT, _int),
    "ops": (INT, _int),
    "timings": ("an object of numbers (seconds, ops/s)", _numbers),
    "evidence": ("an evidence object (counts, rules, ...)", _evidence),
    "finished": (TEXT, _str),
    "error": (TEXT, _str),
    "crashes": ('a list of {"where", "error", "traceback"} objects', _crashes),
}
