"""``chaos check``: exit codes 0 / 1 / 2 / 3, one-line errors, the JSON result, budgets and user models."""

from __future__ import annotations

import json
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pytest

from harness.checkers.linearizable import check
from harness.checkers.models import Call, Model
from harness.cli import main
from harness.history import History, read_jsonl, write_jsonl
from harness.op import Op

DATA = Path(__file__).resolve().parents[2] / "data" / "checkers"


def _kv(tmp_path: Path, read_value: object) -> Path:
    h = History(
        [
            Op(0, 0, 0, "invoke", "write", {"key": "a", "value": 1}),
            Op(1, 1, 0, "ok", "write", {"key": "a", "value": 1}),
            Op(2, 2, 1, "invoke", "read", {"key": "a", "value": None}),
            Op(3, 3, 1, "ok", "read", {"key": "a", "value": read_value}),
        ]
    )
    p = tmp_path / "h.jsonl"
    write_jsonl(h, p)
    return p


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(_kv(tmp_path, 1))]) == 0
    assert main(["check", str(_kv(tmp_path, 2))]) == 1
    out = capsys.readouterr().out
    assert "valid=false" in out and "none of these could come next" in out
    assert main(["check", str(DATA / "eo-lost.jsonl"), "--checker", "exactly-once"]) == 1
    assert main(["check", str(DATA / "lock-clean.jsonl"), "--checker", "lock-safety"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nope"], "unknown model 'nope'; valid models:"),
        (["--init", "{bad"], "--init '{bad' is not JSON"),
        (["--time-limit", "0"], "--time-limit 0.0: must be a positive"),
        (["--format", "csv"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) if "invalid choice" in message else _null():
        code = main(["check", str(_kv(tmp_path, 1)), *args])
        assert code == 3
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None


def test_malformed_line_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "h.jsonl"
    p.write_text('{"index":0,"time":0,"process":0,"type":"invoke","f":"read","value":{"key":"a"}}\n[]\n{}\n')
    assert main(["check", str(p)]) == 3
    assert f"{p}:2: expected a JSON object" in capsys.readouterr().err


def test_json_output_and_unknown_f_for_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(_kv(tmp_path, 1)), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["valid"] is True and set(d["details"]) >= {
        "model",
        "parts",
        "ops",
        "failed_part",
        "unknown_parts",
    }
    assert main(["check", str(_kv(tmp_path, 1)), "--model", "mutex"]) == 3  # none of its ops: what to try
    assert "model mutex: f acquire, release" in capsys.readouterr().err
    mixed = tmp_path / "mixed.jsonl"
    acquire = [Op(10, 10, 2, "invoke", "acquire", None), Op(11, 11, 2, "ok", "acquire", None)]
    write_jsonl([*read_jsonl(_kv(tmp_path, 1)), *acquire], mixed)
    assert main(["check", str(mixed), "--model", "mutex"]) == 3
    assert "model mutex: unknown f 'write'" in capsys.readouterr().err


def _pending_writes(n: int) -> History:
    """n concurrent writes of distinct values, never completed, then reads nobody can satisfy."""
    ops = [Op(i, i, i, "invoke", "write", i) for i in range(n)]
    ops += [Op(n, n, 999, "invoke", "read"), Op(n + 1, n + 1, 999, "ok", "read", -1)]
    return History(ops)


def _rereads(n: int) -> History:
    """n concurrent writes of distinct values, never completed, read one after another and then the first
    again: illegal (a write takes effect once), but every write is observed and none is ever overwritten by
    an acknowledged one, so only the search can tell, and it must try the subsets of the writes."""
    ops = [Op(i, i, i, "invoke", "write", i) for i in range(n)]
    for k, v in enumerate([*range(n), 0]):
        ops += [Op(len(ops), 0, 100 + k, "invoke", "read"), Op(len(ops) + 1, 0, 100 + k, "ok", "read", v)]
    return History(ops)


@pytest.mark.parametrize("engine", ["python", "auto"])
def test_budget_exhaustion_is_unknown_naming_the_part_and_the_limit(engine: str) -> None:
    r = check(_rereads(18), model="register", max_memory_mb=0.05, engine=engine)
    assert r.valid == "unknown" and r.details["unknown_parts"] == [None], r.summary
    assert r.details["limits"] == ["memory"]
    assert "memory limit (0.05 MB" in r.summary
    assert "max_memory_mb" in r.summary and "--max-memory" in r.summary
    r = check(_rereads(22), model="register", time_limit=0.2, engine=engine)
    assert r.valid == "unknown" and r.details["limits"] == ["time"]
    assert "time limit (0.2 s" in r.summary and "--time-limit" in r.summary and "budget:" in r.summary
    assert check(_rereads(6), model="register", engine=engine).valid is False
    assert check(_pending_writes(6), model="register", engine=engine).valid is False


def test_mutex_model_and_a_user_model() -> None:
    h = History(
        [
            Op(0, 0, 0, "invoke", "acquire"),
            Op(1, 1, 0, "ok", "acquire"),
            Op(2, 2, 1, "invoke", "acquire"),
            Op(3, 3, 1, "ok", "acquire"),
        ]
    )
    assert check(h, model="mutex").valid is False
    h2 = History(
        [
            *h[:2],
            Op(2, 2, 0, "invoke", "release"),
            Op(3, 3, 0, "ok", "release"),
            *[Op(4, 4, 1, "invoke", "acquire"), Op(5, 5, 1, "ok", "acquire")],
        ]
    )
    assert check(h2, model="mutex").valid is True

    class Counter(Model):
        name = "counter"
        default_init = 0

        def step(self, state: Hashable, call: Call) -> tuple[bool, Hashable]:
            if call.f == "incr":
                return True, state + 1  # type: ignore[operator]
            return call.out == state, state

    c = History(
        [
            Op(0, 0, 0, "invoke", "incr"),
            Op(1, 1, 1, "invoke", "read"),
            Op(2, 2, 1, "ok", "read", 1),
            Op(3, 3, 0, "ok", "incr"),
        ]
    )
    assert check(c, model=Counter()).valid is True
    assert check(History([*c[:2], Op(2, 2, 1, "ok", "read", 2), c[3]]), model=Counter()).valid is False


def test_a_part_that_outgrows_its_memory_does_not_hide_an_illegal_later_part() -> None:
    """Parts run smallest first; key "a" starves its memo, key "b" (larger, checked after it) is illegal."""
    ops: list[Op] = []

    def add(process: int, type_: str, f: str, value: Any) -> None:
        ops.append(Op(len(ops), len(ops), process, type_, f, value))  # type: ignore[arg-type]

    def rereads(key: str, values: list[int], proc: int) -> None:
        """Pending writes of ``values``, read one after another, then the first again: illegal, and neither
        pre-check nor pruning can tell (see ``_rereads``): only the search can."""
        for v in values:
            add(proc + v, "invoke", "write", {"key": key, "value": v})
        for k, v in enumerate([*values, values[0]]):
            add(proc + 1000 + k, "invoke", "read", {"key": key, "value": None})
            add(proc + 1000 + k, "ok", "read", {"key": key, "value": v})

    rereads("a", list(range(14)), 0)
    for i in range(40):  # key "b": more ops than "a", legal sequential writes and reads ...
        add(200, "invoke", "write", {"key": "b", "value": 100 + i})
        add(200, "ok", "write", {"key": "b", "value": 100 + i})
    rereads("b", [1, 2, 3], 10_000)  # ... then the same illegal pattern, small
    for engine in ("python", "auto"):
        r = check(History(ops), model="kv", max_memory_mb=0.05, engine=engine)
        assert r.valid is False, r.summary
        assert r.details["failed_part"]["key"] == "b"
    # the Python engine searched "a" to its memory limit first; the native core races the parts and names
    # none that ran more search steps than "b" needed to be proved illegal (that they are not needed is the
    # same in every run, how far they got is not)
    slow = check(History(ops), model="kv", max_memory_mb=0.05, engine="python")
    assert slow.details["unknown_parts"] == ["a"]


@pytest.mark.parametrize("engine", ["python", "auto"])
def test_kv_budget_names_the_limit_on_every_path(engine: str) -> None:
    """The kv model's native fast path reports which limit ran out, like the ordinary pipeline."""
    kv = History(
        Op(op.index, op.time, op.process, op.type, op.f, {"key": "k", "value": op.value}, op.error)
        for op in _rereads(22)
    )
    r = check(kv, model="kv", time_limit=0.2, engine=engine)
    assert r.valid == "unknown" and r.details["limits"] == ["time"] and r.details["unknown_parts"] == ["k"]
    assert "time limit (0.2 s" in r.summary
    r = check(kv, model="kv", max_memory_mb=0.05, engine=engine)
    assert r.valid == "unknown" and r.details["limits"] == ["memory"] and "memory limit" in r.summary
