"""Every hostile input listed in issue 13 is refused with exit 3 and a one-line ``file:line`` message:
experiment files (alias bomb, non-finite and huge numbers, oversized files, deep nesting, names that leave
``--out``), history files (garbage, HTML pages, duplicate indexes, completions without invocations, deep
nesting, huge integers), bad option values, replayed bundles whose ``run.json`` names a path elsewhere; and an
unexpected exception in any command is exit 3 with the traceback in a log file, never exit 1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.cli import main

HOSTILE = Path(__file__).parents[1] / "data" / "hostile"
ONE_LINE_AT = re.compile(r"^chaos: error: \S+:\d+: \S.*$")

KV = """name: hostile
expect: valid
target: {name: kv, nodes: 3, backend: local}
workload: {duration: 5, concurrency: 2, keys: 2, mix: {read: 1, write: 1}}
phases: {warmup: 0, cooldown: 0, recovery: 1, final: true}
checkers:
  linearizable: {model: kv, budget: 10}
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 3, f"{argv}: exit {code}: {err}"
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("path", sorted((HOSTILE / "experiment-files").iterdir()), ids=lambda p: p.name)
def test_hostile_experiment_is_refused_before_anything_runs(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "deep"
    err = refused(["run", str(path), "--out", str(out)], capsys)
    assert ONE_LINE_AT.match(err), err
    assert not out.exists(), "nothing may be written before the experiment is valid"
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/absolute").exists()


@pytest.mark.parametrize(
    "value, words",
    [(".inf", "infinite"), (".nan", "not a number"), ("1e9", "too large"), ("1000000000", "too large")],
)
def test_durations_say_what_is_wrong(
    value: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "exp.yaml"
    f.write_text(KV.replace("duration: 5", f"duration: {value}"))
    err = refused(["run", str(f), "--out", str(tmp_path)], capsys)
    assert f"{f}:4: workload.duration: " in err and words in err


def generated_experiments(tmp_path: Path) -> dict[str, Path]:
    files = {
        "huge": KV + "description: " + "x" * (20 << 20) + "\n",
        "deep-flow": "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(200)),
        "big-int": KV + "seed: " + "9" * 5000 + "\n",
        "big-float": KV + "seed: 1" + "0" * 400 + ".0\n",
    }
    out = {}
    for name, text in files.items():
        out[name] = tmp_path / f"{name}.yaml"
        out[name].write_text(text)
    return out


@pytest.mark.parametrize("name", ["huge", "deep-flow", "deep-block", "big-int", "big-float"])
def test_generated_hostile_experiments(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = generated_experiments(tmp_path)[name]
    err = refused(["run", str(path), "--out", str(tmp_path / "out")], capsys)
    assert str(path) in err


def test_a_cli_duration_override_must_be_finite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "exp.yaml"
    f.write_text(KV)
    for bad in ("nan", "inf", "1e9", "-1"):
        argv = ["run", str(f), "--duration", bad, "--out", str(tmp_path / "o")]
        assert "--duration" in refused(argv, capsys)


def _checker_for(path: Path) -> list[str]:
    for name in ("exactly-once", "lock-safety"):
        if path.name.startswith(name):
            return ["--checker", name]
    return []


@pytest.mark.parametrize("path", sorted((HOSTILE / "histories").iterdir()), ids=lambda p: p.name)
def test_hostile_history_is_refused_at_its_line(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(["check", str(path), *_checker_for(path)], capsys)
    assert re.match(rf"^chaos: error: {re.escape(str(path))}:\d+: ", err), err
    assert "op index" not in err


def test_generated_hostile_histories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    op = '{"index":0,"time":0,"process":0,"type":"invoke","f":"write","value":VALUE}\n'
    cases = {
        "deep.jsonl": op.replace("VALUE", "[" * 100_000 + "]" * 100_000),
        "big-int.jsonl": op.replace("VALUE", "1" * 5000),
        "mid-int.jsonl": op.replace("VALUE", "1" * 2000),
        "deep.edn": "[{:process 0 :type :invoke :f :write :value " + "[" * 100_000 + "]" * 100_000 + "}]\n",
        "big-int.edn": "[{:process 0 :type :invoke :f :write :value " + "1" * 5000 + "}]\n",
    }
    for name, text in cases.items():
        f = tmp_path / name
        f.write_text(text)
        err = refused(["check", str(f)], capsys)
        assert f"{f}:1: " in err, err


def test_history_size_limit_and_the_flag_that_raises_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "h.jsonl"
    lines = []
    for i in range(2000):
        v = {"key": "a", "value": i}
        for j, typ in ((2 * i, "invoke"), (2 * i + 1, "ok")):
            lines.append({"index": j, "time": j, "process": 0, "type": typ, "f": "write", "value": v})
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    err = refused(["check", str(f), "--max-history-mb", "0.01"], capsys)
    assert "--max-history-mb" in err and "bytes" in err
    assert main(["check", str(f), "--max-history-mb", "1"]) == 0


def test_a_torn_last_line_after_whole_ops_is_still_read(tmp_path: Path) -> None:
    f = tmp_path / "h.jsonl"
    ok = (
        '{"index":0,"time":0,"process":0,"type":"invoke","f":"write","value":{"key":"a","value":1}}\n'
        '{"index":1,"time":1,"process":0,"type":"ok","f":"write","value":{"key":"a","value":1}}\n'
    )
    f.write_text(ok + '{"index":2,"time":2,"process":0,"ty')  # the writer was killed mid-line
    assert main(["check", str(f)]) == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--time-limit", "nan"],
        ["--time-limit", "inf"],
        ["--time-limit", "-1", "--checker", "exactly-once"],
        ["--time-limit", "0", "--checker", "lock-safety"],
        ["--model", "kv", "--checker", "lock-safety"],
        ["--init", "1", "--checker", "exactly-once"],
        ["--max-history-mb", "nan"],
    ],
)
def test_bad_option_values_are_bad_input(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    f = HOSTILE.parents[0] / "checkers" / "eo-clean.jsonl"
    refused(["check", str(f), *args], capsys)


def test_replay_never_writes_where_run_json_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "experiment.yaml").write_text(KV.replace("name: hostile\n", ""))
    elsewhere = tmp_path / "elsewhere"
    for name in (str(elsewhere), "../../x", ".."):
        (bundle / "run.json").write_text(json.dumps({"experiment": name, "seed": 1, "status": "finished"}))
        err = refused(["replay", str(bundle), "--out", str(tmp_path / "out")], capsys)
        assert "name" in err
    assert not elsewhere.exists() and not (tmp_path / "out").exists() and not (tmp_path.parent / "x").exists()


def test_bundle_names_cannot_leave_out(tmp_path: Path) -> None:
    from harness.bundle import Bundle
    from harness.errors import BadInput

    for bad in ("..", "../x", "/abs", "a/b", "", ".hidden", "x" * 101):
        with pytest.raises(BadInput):
            Bundle.create(tmp_path / "out", bad)
    assert not (tmp_path / "out").exists()


def test_an_unexpected_exception_is_exit_3_with_a_crash_log(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import harness.cli.check as check_cli

    def boom(args: object) -> int:
        raise RuntimeError("something nobody expected\nsecond line")

    monkeypatch.setattr(check_cli, "handle", boom)
    code = main(["check", "whatever.jsonl"])
    err = capsys.readouterr().err.strip()
    assert code == 3 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "RuntimeError: something nobody expected second line" in err
    logs = list((home / "crash").glob("*.log"))
    assert len(logs) == 1 and "Traceback" in logs[0].read_text() and str(logs[0]) in err


def test_the_schedule_generator_always_ends_quickly() -> None:
    from harness.limits import MAX_RANDOM_FAULTS
    from harness.loader import loads
    from harness.schedule import generate

    text = KV.replace("duration: 5", "duration: 86400") + (
        "faults:\n  random: {kinds: [partition, kill], interval: [0.000001, 0.000002], "
        "duration: [0.000001, 0.000002], shapes: [isolate]}\n"
    )
    exp = loads(text, "dense.yaml")
    schedule = generate(exp, 1)  # it ends (a hang would stop the suite), drawing at most the bound
    assert 0 < len(schedule.events) <= MAX_RANDOM_FAULTS


def test_a_recorded_schedule_with_non_finite_times_is_bad_input() -> None:
    from harness.errors import BadInput
    from harness.faults.event import FaultEvent

    for bad in ({"kind": "kill", "at": float("nan"), "duration": 1}, {"kind": "kill", "at": 1}, {"at": 1e12}):
        with pytest.raises(BadInput):
            FaultEvent.from_dict(bad)


def test_a_bundle_json_nested_too_deep_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "history.jsonl").write_text("")
    assert "run.json" in refused(["replay", str(tmp_path), "--out", str(tmp_path / "out")], capsys)
