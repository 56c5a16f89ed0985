"""Fuzzing the experiment loader and every history importer (jsonl, Jepsen EDN, both Porcupine formats, Elle's
EDN and elle-cli's JSON, the last two through the transactional checkers).

Inputs are mutations of valid seeds and of the hostile corpus (``tests/data/hostile``): bytes replaced,
inserted, deleted or duplicated, with YAML / EDN / JSON punctuation, aliases, non-finite and huge numbers,
deep brackets. Whatever comes in, the loader must raise nothing but a ``HarnessError`` (one-line message), and
``chaos check`` must exit 0-3 with no traceback and no "internal error", each input in a bounded amount of
memory (and with a time limit on the check: no wall-clock assertion, the machine is shared). In CI
(``CI=true``) hypothesis is derandomized so the run is reproducible; ``CHAOS_FUZZ_EXAMPLES`` (default 60 per
test) sets how many inputs each test tries.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.errors import HarnessError
from harness.loader import loads

ROOT = Path(__file__).parents[2]
HOSTILE = ROOT / "tests" / "data" / "hostile"
MAX_PEAK_BYTES = 200 << 20

FUZZ = settings(
    max_examples=int(os.environ.get("CHAOS_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

EXPERIMENT_SEEDS = [p.read_text() for p in sorted((ROOT / "experiments").glob("*.yaml"))[:4]] + [
    p.read_text() for p in sorted((HOSTILE / "experiment-files").glob("*.yaml"))
]
EDN = """[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process :nemesis, :type :info, :f :start-partition, :value [:n1 :n2]}
 {:process 1, :type :invoke, :f :cas, :value [1 2], :time 5}
 {:process 1, :type :fail, :f :cas, :value [1 2], :error :timeout}
 {:process 2, :type :invoke, :f :read, :value nil}
 {:process 2, :type :ok, :f :read, :value 1}]
"""
ETCD = """INFO jepsen.util - 0 :invoke :write 1
INFO jepsen.util - 0 :ok :write 1
INFO jepsen.util - 1 :invoke :cas [1 2]
INFO jepsen.util - 1 :fail :cas [1 2]
INFO jepsen.util - 2 :invoke :read nil
INFO jepsen.util - 2 :info :read :timed-out
"""
KVLOG = """{:process 0, :type :invoke, :f :put, :key "k", :value "a"}
{:process 0, :type :ok, :f :put, :key "k", :value nil}
{:process 1, :type :invoke, :f :get, :key "k", :value nil}
{:process 1, :type :ok, :f :get, :key "k", :value "a"}
"""
ELLE_EDN = """[{:process 0, :type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]], :index 0}
 {:process 0, :type :ok, :f :txn, :value [[:append :x 1] [:r :y [1]]], :index 1}
 {:process 1, :type :invoke, :f :txn, :value [[:r :x nil] [:append :y 1]], :index 2}
 {:process 1, :type :info, :f :txn, :value [[:r :x nil] [:append :y 1]], :index 3}]
"""
ELLE_JSON = """\
{"process": 0, "type": "invoke", "f": "txn", "value": [["w", "x", 1], ["r", "y", null]], "index": 0}
{"process": 0, "type": "ok", "f": "txn", "value": [["w", "x", 1], ["r", "y", 2]], "index": 1}
{"process": 1, "type": "invoke", "f": "txn", "value": [["w", "y", 2], ["r", "x", null]], "index": 2}
{"process": 1, "type": "ok", "f": "txn", "value": [["w", "y", 2], ["r", "x", null]], "index": 3}
"""
# format -> the checker that reads it (the transactional formats are read by the transactional checkers)
CHECKER_FOR = {"elle-edn": "list-append", "elle-json": "rw-register"}
HISTORY_SEEDS = {
    "jsonl": [p.read_text() for p in sorted((ROOT / "tests" / "data" / "checkers").glob("*.jsonl"))[:4]],
    "jepsen-edn": [EDN],
    "porcupine-etcd": [ETCD],
    "porcupine-kv": [KVLOG],
    "elle-edn": [ELLE_EDN],
    "elle-json": [ELLE_JSON],
}
HOSTILE_HISTORIES = [p.read_text() for p in sorted((HOSTILE / "histories").iterdir())]
PIECES = [
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "&a ",
    "*a",
    "<<: ",
    "!!python/object ",
    ".nan",
    ".inf",
    "-.inf",
    "1e999",
    "NaN",
    "Infinity",
    "9" * 60,
    "\n",
    "\t",
    '"',
    "'",
    "\\",
    "#",
    "- ",
    "nil",
    ":type :ok",
    '"type":"ok"',
    "#{",
    "#_",
    "1/0",
    "\x00",
    "\u2028",
    "é",
    "[[[[[[[[",
    "]]]]",
    "{:a {:b {:c",
    "null",
    "##NaN",
    "##Inf",
    "##-Inf",
    "1e400",
    "-1e400",
    "1" + "0" * 1000,
    "9" * 1000,
    "-Infinity",
    "\x1b[31m",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str]) -> str:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            text = draw(st.sampled_from(PIECES))
            continue
        i = draw(st.integers(0, len(text) - 1))
        j = min(len(text), i + draw(st.integers(0, 40)))
        how = draw(st.sampled_from(["replace", "insert", "delete", "repeat"]))
        piece = draw(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)))
        if how == "replace":
            text = text[:i] + piece + text[j:]
        elif how == "insert":
            text = text[:i] + piece * draw(st.integers(1, 500)) + text[i:]
        elif how == "delete":
            text = text[:i] + text[j:]
        else:
            text = text[:i] + text[i:j] * draw(st.integers(2, 200)) + text[j:]
    return text


@contextlib.contextmanager
def bounded() -> Iterator[None]:
    """Each input: at most MAX_PEAK_BYTES of Python allocations (no wall-clock bound: the machine is shared;
    a hang is caught by the time limit every check runs with)."""
    tracemalloc.start()
    try:
        yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < MAX_PEAK_BYTES, f"peak {peak >> 20} MB"


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        old = os.environ.get("CHAOS_HOME")
        os.environ["CHAOS_HOME"] = str(Path(d) / "home")  # crash logs, if any, stay here
        try:
            yield Path(d)
        finally:
            if old is None:
                os.environ.pop("CHAOS_HOME", None)
            else:
                os.environ["CHAOS_HOME"] = old


@FUZZ
@given(text=mutated(EXPERIMENT_SEEDS))
def test_experiment_loader_never_crashes(text: str) -> None:
    with bounded():
        try:
            loads(text, "fuzz.yaml")
        except HarnessError as e:
            msg = str(e)
            assert msg and "\n" not in msg and msg.startswith("fuzz.yaml"), msg


CHECKERS = ("linearizable", "exactly-once", "lock-safety", "list-append", "rw-register")
NOTHING_CHECKED = re.compile(r"\b0 (transactions|operations)\b")


def check_cli(path: Path | str, fmt: str, checker: str | None = None) -> int:
    err, out = io.StringIO(), io.StringIO()
    checker = checker or CHECKER_FOR.get(fmt)
    with bounded(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        flags = ["--checker", checker] if checker else []
        code = main(["check", str(path), "--format", fmt, "--time-limit", "1", *flags])
    text = err.getvalue()
    assert code in (0, 1, 2, 3), f"exit {code}: {text}"
    assert "Traceback" not in text and "internal error" not in text, text
    assert "\x1b" not in text, text  # control characters from the input are shown escaped, never raw
    if code == 3:
        assert len(text.strip().splitlines()) == 1, text
    if code == 0:  # a pass is about something: the checker found ops it checks
        assert not NOTHING_CHECKED.search(out.getvalue()), out.getvalue()
    return code


@pytest.mark.parametrize("fmt", sorted(HISTORY_SEEDS))
def test_history_importers_never_crash(fmt: str, workdir: Path) -> None:
    path = workdir / f"fuzz-{fmt}.txt"

    @FUZZ
    @given(text=mutated(HISTORY_SEEDS[fmt] + HOSTILE_HISTORIES))
    def one(text: str) -> None:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        check_cli(path, fmt)

    one()


def test_auto_detection_never_crashes(workdir: Path) -> None:
    seeds = [s for v in HISTORY_SEEDS.values() for s in v] + HOSTILE_HISTORIES
    path = workdir / "fuzz-auto"

    @FUZZ
    @given(text=mutated(seeds))
    def one(text: str) -> None:
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        check_cli(path, "auto")

    one()


@pytest.mark.parametrize("checker", CHECKERS)
def test_every_format_with_every_checker_never_crashes_nor_passes_on_nothing(
    checker: str, workdir: Path
) -> None:
    """Any format (guessed) under any checker: 0-3, one line on bad input, and never a pass about nothing."""
    seeds = [s for v in HISTORY_SEEDS.values() for s in v]
    path = workdir / f"fuzz-any-{checker}"

    @FUZZ
    @given(text=mutated(seeds))
    def one(text: str) -> None:
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        check_cli(path, "auto", checker)

    one()


def _through_a_pipe(data: bytes, fmt: str, checker: str | None) -> int:
    """``chaos check /dev/fd/N`` where N is a pipe another thread writes ``data`` into (as ``<(cat H)``)."""
    r, w = os.pipe()

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), os.fdopen(w, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        return check_cli(f"/dev/fd/{r}", fmt, checker)
    finally:
        os.close(r)  # a reader that stopped early (size bound, bad input) must not leave the writer blocked
        writer.join()


@pytest.mark.parametrize("fmt", sorted(HISTORY_SEEDS))
def test_a_piped_history_gets_the_verdict_of_the_same_file(fmt: str, workdir: Path) -> None:
    path = workdir / f"fuzz-pipe-{fmt}"

    @FUZZ
    @given(text=mutated(HISTORY_SEEDS[fmt] + HOSTILE_HISTORIES))
    def one(text: str) -> None:
        data = text.encode("utf-8", errors="surrogatepass")
        path.write_bytes(data)
        mode = "auto" if fmt not in CHECKER_FOR else fmt
        assert _through_a_pipe(data, mode, CHECKER_FOR.get(fmt)) == check_cli(path, mode)

    one()
