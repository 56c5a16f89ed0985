"""No false pass (issue 22): ``chaos check`` never says "valid" about something it did not check.

One section per point of the issue: histories from pipes are read once; a checker that finds none of the ops
it checks is bad input with a hint; non-finite and absurd numbers are refused against documented ranges;
ill-typed ops are bad input naming line and field, never a checker crash reported as unknown; a history in
which nothing succeeded is decided by a pre-check.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_fuzz_input import EDN, ELLE_EDN, ELLE_JSON, ETCD, KVLOG
from test_hostile_input import KV

from harness.cli import main
from harness.history import History
from harness.op import Op

ROOT = Path(__file__).parents[2]


def kv_history(n: int, *, stale: bool) -> str:
    """``n`` write/read pairs on key "a"; with ``stale`` the last read returns a value never current."""
    lines = []
    i = 0
    for k in range(n):
        for f, v, out in (("write", k, k), ("read", None, k)):
            if stale and k == n - 1 and f == "read":
                out = 0 if n > 1 else 99
            lines.append(
                {
                    "index": i,
                    "time": i,
                    "process": 0,
                    "type": "invoke",
                    "f": f,
                    "value": {"key": "a", "value": v},
                }
            )
            lines.append(
                {
                    "index": i + 1,
                    "time": i + 1,
                    "process": 0,
                    "type": "ok",
                    "f": f,
                    "value": {"key": "a", "value": out},
                }
            )
            i += 2
    return "".join(json.dumps(d) + "\n" for d in lines)


def chaos(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- 1. piped histories are read once ---------------------------------------------------------------------
@pytest.mark.parametrize("ops", [3, 600])  # under and over the 64 KiB that format detection looks at
def test_a_piped_history_gets_the_verdict_of_the_file(ops: int, tmp_path: Path) -> None:
    text = kv_history(ops, stale=True)
    assert (len(text) > 65536) == (ops > 100)
    path = tmp_path / "h"  # no extension: the format is guessed from the content
    path.write_text(text)
    assert chaos(["check", str(path)]).returncode == 1
    piped = chaos(["check", "/dev/stdin"], stdin=text.encode())
    assert piped.returncode == 1, piped.stdout + piped.stderr
    assert "Not linearizable" in piped.stdout


def test_a_piped_transactional_history_is_read_once() -> None:
    lines = [
        {"process": 0, "type": "invoke", "f": "txn", "value": [["append", "x", 1]]},
        {"process": 0, "type": "ok", "f": "txn", "value": [["append", "x", 1]]},
        {"process": 1, "type": "invoke", "f": "txn", "value": [["r", "x", None]]},
        {"process": 1, "type": "ok", "f": "txn", "value": [["r", "x", [2]]]},  # 2 was never appended
    ]
    text = "".join(json.dumps(d) + "\n" for d in lines)
    piped = chaos(["check", "/dev/stdin", "--checker", "list-append"], stdin=text.encode())
    assert piped.returncode == 1, piped.stdout + piped.stderr


def test_a_piped_history_over_the_size_bound_is_refused() -> None:
    text = kv_history(600, stale=False)
    piped = chaos(["check", "/dev/stdin", "--max-history-mb", "0.01"], stdin=text.encode())
    assert piped.returncode == 3 and "--max-history-mb" in piped.stderr
    assert len(piped.stderr.strip().splitlines()) == 1


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(err: str) -> str:
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "internal error" not in err, err
    return err


# --- 2. the wrong checker does not pass --------------------------------------------------------------------
QUEUE = (ROOT / "tests" / "data" / "checkers" / "eo-clean.jsonl").read_text()
LOCK = (ROOT / "tests" / "data" / "checkers" / "lock-clean.jsonl").read_text()
# every format we read (and the harness's own workloads in jsonl), with the checker that checks it
FITS = {
    "jsonl-kv": (kv_history(3, stale=False), "linearizable"),
    "jsonl-queue": (QUEUE, "exactly-once"),
    "jsonl-lock": (LOCK, "lock-safety"),
    "jepsen-edn": (EDN, "linearizable"),
    "porcupine-etcd": (ETCD, "linearizable"),
    "porcupine-kv": (KVLOG, "linearizable"),
    "elle-edn": (ELLE_EDN, "list-append"),
    "elle-json": (ELLE_JSON, "rw-register"),
}
CHECKERS = ("linearizable", "exactly-once", "lock-safety", "list-append", "rw-register")


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("name", sorted(FITS))
def test_every_checker_on_every_format_passes_only_what_it_checked(
    name: str, checker: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, fits = FITS[name]
    path = tmp_path / "history"  # no extension: guessed from the content
    path.write_text(text)
    code, out, err = run(["check", str(path), "--checker", checker], capsys)
    if checker == fits:
        assert code in (0, 1, 2), err
        return
    assert code == 3, f"{checker} on {name}: exit {code}\n{out}{err}"
    assert "try --checker" in one_line_error(err), err


def test_a_kv_history_checked_as_transactions_names_what_it_looks_like(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kv.jsonl"
    path.write_text(kv_history(5, stale=False))
    for checker in ("list-append", "rw-register"):
        code, _, err = run(["check", str(path), "--checker", checker], capsys)
        assert code == 3
        assert "no operation the" in err and "txn" in err and "try --checker linearizable --model kv" in err


def test_a_model_that_checks_none_of_the_ops_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kv.jsonl"
    path.write_text(kv_history(5, stale=False))
    code, _, err = run(["check", str(path), "--model", "mutex"], capsys)
    assert code == 3 and "model mutex" in one_line_error(err) and "--model kv" in err


# --- 3. non-finite and absurd numbers -----------------------------------------------------------------------
EDN_OP = (
    "{{:process 0, :type :invoke, :f :write, :value {v}}}\n{{:process 0, :type :ok, :f :write, :value {v}}}\n"
)
ELLE_EDN_OP = (
    "{{:process 0 :type :invoke :f :txn :value [[:w :x {v}]]}}\n"
    "{{:process 0 :type :ok :f :txn :value [[:w :x {v}]]}}\n"
)
ELLE_JSON_OP = (
    '{{"process": 0, "type": "invoke", "f": "txn", "value": [["w", "x", {v}]]}}\n'
    '{{"process": 0, "type": "ok", "f": "txn", "value": [["w", "x", {v}]]}}\n'
)
JSONL_OP = (
    '{{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "write", '
    '"value": {{"key": "a", "value": {v}}}}}\n'
    '{{"index": 1, "time": 1, "process": 0, "type": "ok", "f": "write", '
    '"value": {{"key": "a", "value": {v}}}}}\n'
)
HUGE = "9" * 5000
JUST_OVER = "1" + "0" * 1000  # 1001 digits: the documented bound is 1000
CASES = (
    [("x.edn", EDN_OP, [], v) for v in ("##NaN", "##Inf", "##-Inf", "1e400", HUGE, JUST_OVER)]
    + [
        ("x.edn", ELLE_EDN_OP, ["--checker", "list-append", "--format", "elle-edn"], v)
        for v in ("##NaN", "##Inf", "1e400", HUGE, JUST_OVER)
    ]
    + [
        ("x.json", ELLE_JSON_OP, ["--checker", "rw-register"], v)
        for v in ("NaN", "Infinity", "1e400", "-1e400", HUGE, JUST_OVER)
    ]
    + [("x.jsonl", JSONL_OP, [], v) for v in ("NaN", "1e400", HUGE, JUST_OVER)]
)


@pytest.mark.parametrize(("name", "template", "flags", "value"), CASES, ids=lambda x: str(x)[:20])
def test_non_finite_and_huge_numbers_in_a_history_are_bad_input(
    name: str, template: str, flags: list[str], value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text(template.format(v=value))
    code, out, err = run(["check", str(path), *flags], capsys)
    assert code == 3, f"exit {code}: {out}{err}"
    assert one_line_error(err).startswith(f"chaos: error: {path}")
    assert "finite" in err or "1000 digits" in err, err


def test_the_integer_bound_is_exactly_1000_digits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(JSONL_OP.format(v="9" * 1000))
    assert run(["check", str(path)], capsys)[0] == 0
    path.write_text(EDN_OP.format(v="9" * 1000))
    assert run(["check", str(path), "--format", "jepsen-edn"], capsys)[0] == 0


@pytest.mark.parametrize(
    "flags",
    [
        ["--init", "NaN"],
        ["--init", "1e400"],
        ["--init", "[Infinity]"],
        ["--init", HUGE],
        ["--max-history-mb", "1e308"],
        ["--max-history-mb", "nan"],
        ["--time-limit", "1e300"],
        ["--max-memory", "1e308"],
    ],
    ids=lambda f: " ".join(f)[:30],
)
def test_absurd_numbers_on_the_command_line_are_bad_input(
    flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kv.jsonl"
    path.write_text(kv_history(2, stale=False))
    code, _, err = run(["check", str(path), *flags], capsys)
    assert code == 3 and one_line_error(err).startswith(f"chaos: error: {flags[0]}"), err


# --- 4. ill-typed ops are bad input naming line and field --------------------------------------------------
def _jsonl(*ops: tuple[int, str, str, object]) -> str:
    return "".join(
        json.dumps({"index": i, "time": i, "process": p, "type": t, "f": f, "value": v}) + "\n"
        for i, (p, t, f, v) in enumerate(ops)
    )


ILL_TYPED = {
    "exactly-once unhashable msg": (
        _jsonl(
            (0, "invoke", "send", {"msg": [1]}),
            (0, "ok", "send", {"msg": [1]}),
            (1, "invoke", "read-effects", None),
            (1, "ok", "read-effects", [{"msg": [1]}]),
        ),
        ["--checker", "exactly-once"],
        1,
        "value.msg",
    ),
    "exactly-once unhashable effect": (
        _jsonl(
            (0, "invoke", "send", {"msg": 1}),
            (0, "ok", "send", {"msg": 1}),
            (1, "invoke", "read-effects", None),
            (1, "ok", "read-effects", [{"msg": {"a": 1}}]),
        ),
        ["--checker", "exactly-once"],
        4,
        "value[0].msg",
    ),
    "lock token abc": (
        _jsonl(
            (0, "invoke", "acquire", {"lock": "L"}),
            (0, "ok", "acquire", {"lock": "L", "token": "abc"}),
            (1, "invoke", "read-resource", None),
            (1, "ok", "read-resource", []),
        ),
        ["--checker", "lock-safety"],
        2,
        "'token'",
    ),
    "kv key list": (
        _jsonl(
            (0, "invoke", "write", {"key": [1], "value": 1}), (0, "ok", "write", {"key": [1], "value": 1})
        ),
        [],
        1,
        "value.key",
    ),
    "kv key object": (
        _jsonl(
            (0, "invoke", "write", {"key": {"a": 1}, "value": 1}),
            (0, "ok", "write", {"key": {"a": 1}, "value": 1}),
        ),
        [],
        1,
        "value.key",
    ),
    "list-append read of a number": (
        _jsonl(
            (0, "invoke", "txn", [["append", 1, 2]]),
            (0, "ok", "txn", [["append", 1, 2]]),
            (1, "invoke", "txn", [["r", 1, None]]),
            (1, "ok", "txn", [["r", 1, 5]]),
        ),
        ["--checker", "list-append"],
        4,
        "value",
    ),
}


@pytest.mark.parametrize("name", sorted(ILL_TYPED))
def test_an_ill_typed_op_is_bad_input_at_its_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, flags, line, field = ILL_TYPED[name]
    path = tmp_path / "h.jsonl"
    path.write_text(text)
    code, out, err = run(["check", str(path), *flags], capsys)
    assert code == 3, f"exit {code}: {out}{err}"
    assert one_line_error(err).startswith(f"chaos: error: {path}:{line}: ") and field in err, err


def test_list_append_read_of_a_number_in_elle_edn_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "h.edn"
    path.write_text(
        "{:process 0 :type :invoke :f :txn :value [[:append 1 2]]}\n"
        "{:process 0 :type :ok :f :txn :value [[:append 1 2]]}\n"
        "{:process 1 :type :invoke :f :txn :value [[:r 1 nil]]}\n"
        "{:process 1 :type :ok :f :txn :value [[:r 1 5]]}\n"
    )
    code, _, err = run(["check", str(path), "--checker", "list-append"], capsys)
    assert code == 3 and one_line_error(err).startswith(f"chaos: error: {path}:4: field 'value'")


@pytest.mark.parametrize("seed", [str(2**63), str(2**64 + 5), "9" * 5000, "-1"])
def test_a_seed_beyond_2_63_on_the_command_line_is_bad_input(
    seed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path / "home"))
    exp = tmp_path / "kv.yaml"
    exp.write_text(KV)
    with pytest.raises(SystemExit) if seed == "9" * 5000 else contextlib.nullcontext():
        code, _, err = run(["run", str(exp), "--seed", seed, "--dry-run"], capsys)
        assert code == 3 and "seed" in one_line_error(err), err
    err = capsys.readouterr().err or err
    assert "seed" in one_line_error(err) and len(err) < 500, err


def test_a_replayed_seed_beyond_2_63_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path / "home"))
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "experiment.yaml").write_text(KV)
    (bundle / "run.json").write_text(
        json.dumps({"experiment": "hostile", "seed": 2**64, "status": "finished"})
    )
    code, _, err = run(["replay", str(bundle), "--out", str(tmp_path / "out")], capsys)
    assert code == 3 and "'seed'" in one_line_error(err) and "2^63-1" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("rate", ["1.0e-300", "0.0001", "1e7"])
def test_a_workload_rate_outside_its_range_is_bad_input(rate: str) -> None:
    from harness.errors import BadInput
    from harness.loader import loads

    text = KV.replace("concurrency: 2,", f"concurrency: 2, rate: {rate},")
    with pytest.raises(BadInput, match="rate"):
        loads(text, "x.yaml")
    loads(text.replace(rate, "0.001"), "x.yaml")


# --- 5. a history in which nothing could succeed is decided by a pre-check ---------------------------------
def all_down_history(n: int) -> History:
    """Every node down: ``n`` writes and cas of unknown outcome and failed reads on 3 keys (each process
    used once, as the workers do after an ``info``), then one final read per key that saw the initial nil."""
    ops: list[Op] = []

    def add(process: int, type_: str, f: str, value: object, error: str | None = None) -> None:
        ops.append(Op(len(ops), len(ops), process, type_, f, value, error))  # type: ignore[arg-type]

    for k in range(n):
        key = f"k{k % 3}"
        f = ("write", "cas", "read")[k % 3]
        value = {"key": key, "from": k - 3, "to": k} if f == "cas" else {"key": key, "value": k}
        add(k, "invoke", f, value)
        add(k, "fail" if f == "read" else "info", f, value, "connection refused")
    for j, key in enumerate(("k0", "k1", "k2")):
        add(n + j, "invoke", "read", {"key": key, "value": None})
        add(n + j, "ok", "read", {"key": key, "value": None})
    return History(ops)


@pytest.mark.parametrize("engine", ["python", "auto"])
def test_an_all_down_history_is_decided_without_searching_the_unknown_ops(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.checkers import linearizable

    searched: list[int] = []
    real = linearizable._engine

    def counting(name: str, m: object) -> object:
        run = real(name, m)  # type: ignore[arg-type]

        def run_counted(ops: list[object], *a: object) -> object:
            searched.append(len(ops))
            return run(ops, *a)  # type: ignore[arg-type]

        return run_counted

    monkeypatch.setattr(linearizable, "_engine", counting)
    monkeypatch.setattr(linearizable.fastkv, "applies", lambda m: False)  # the screen sees every op
    r = linearizable.check(all_down_history(6000), model="kv", engine=engine, time_limit=30)
    assert r.valid is True and "unknown outcome" in r.summary
    assert max(searched, default=0) <= 1, searched  # only the final reads were searched, one per key


def test_unknown_ops_that_must_have_happened_are_still_searched() -> None:
    from harness.checkers import linearizable

    h = list(all_down_history(30))
    n = len(h)
    h += [  # after the final nil reads, a read of 6 on k0: only the unknown write of 6 (k=6) explains it
        Op(n, n, 999, "invoke", "read", {"key": "k0", "value": None}),
        Op(n + 1, n + 1, 999, "ok", "read", {"key": "k0", "value": 6}),
    ]
    assert linearizable.check(History(h), model="kv").valid is True  # write 6 to k0 (k=6) is unknown
    h[-1] = Op(n + 1, n + 1, 999, "ok", "read", {"key": "k0", "value": 1000})  # nobody wrote 1000
    assert linearizable.check(History(h), model="kv").valid is False


# --- 8. the infrastructure's own faults end clearly (CLI parts; the full disk: tests/unit/experiments) -----
def test_an_out_directory_under_a_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path / "home"))
    exp = tmp_path / "kv.yaml"
    exp.write_text(KV)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = run(["run", str(exp), "--out", str(blocker / "x"), "--backend", "local"], capsys)
    assert code == 3 and one_line_error(err).startswith("chaos: error: cannot create the run's directory")
    assert "not a directory" in err and "NotADirectoryError" not in err


def test_a_missing_local_program_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "targets" / "nobin" / "target.yaml"
    target.parent.mkdir(parents=True)
    target.write_text(
        "name: nobin\nnodes: {default: 1, min: 1, max: 3}\nports: {client: 6379}\n"
        'command: [no-such-program-xyz, --port, "{port.client}"]\nready: {tcp: client}\n'
        "client: chaos_examples.redis.client:RedisClient\nworkload: kv\n"
    )
    exp = tmp_path / "nobin.yaml"
    declared = "{declaration: targets/nobin/target.yaml}"
    exp.write_text(KV.replace("{name: kv, nodes: 3, backend: local}", declared))
    code, _, err = run(["run", str(exp), "--backend", "local", "--out", str(tmp_path / "out")], capsys)
    last = err.strip().splitlines()[-1]  # after the run's progress line
    assert code == 3 and last.startswith("chaos: error: node n1: cannot start 'no-such-program-xyz'"), err
    assert "Traceback" not in err and "FileNotFoundError" not in err


def test_argparse_errors_are_one_line_with_escapes_shown(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["check", "h.jsonl", "--checker", "\x1b[31mred"])
    err = capsys.readouterr().err
    assert e.value.code == 3 and len(err.strip().splitlines()) == 1 and "usage:" not in err
    assert "\x1b" not in err and "\\x1b[31mred" in err


def test_dry_run_prints_control_characters_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path / "home"))
    exp = tmp_path / "kv.yaml"
    exp.write_text('description: "\\e[2J\\e[31mred"\n' + KV)
    code, out, err = run(["run", str(exp), "--dry-run"], capsys)
    assert code == 0, err
    assert "\x1b" not in out


# --- 6. local backend: clients connect directly unless a link fault acts on client links ------------------
def test_local_clients_dial_nodes_directly_unless_client_links_carry_link_faults() -> None:
    from harness.cluster.docker import DockerBackend
    from harness.cluster.local import LocalBackend
    from harness.faults.link import proxied_links
    from harness.names import CLIENTS, PEERS
    from harness.platform import resolve_proxies

    assert resolve_proxies(LocalBackend, None) == {PEERS}  # partitions act on peer proxies; clients go direct
    assert resolve_proxies(LocalBackend, proxied_links([])) == {PEERS}
    assert resolve_proxies(LocalBackend, {CLIENTS}) == {PEERS, CLIENTS}
    assert resolve_proxies(DockerBackend, None) == set()
