"""Jepsen histories judged as Knossos judges them (its cas-register and register models): a completed read
of nil matches any state, a :fail op did not happen, an :info op may have happened at any point after its
invocation (or never), and an :info with no open call (a nemesis event) is not a client op.
``--strict-nil`` reads nil as a value. Histories are hand-written EDN; the verdicts are Knossos's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main


def _edn(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / f"{name}.edn"
    p.write_text(body, encoding="utf-8")
    return p


NIL_READ_AFTER_WRITE = """; a read whose value Jepsen never learned (nil) after a write of 1
[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process 1, :type :invoke, :f :read, :value nil}
 {:process 1, :type :ok, :f :read, :value nil}
 {:process 1, :type :invoke, :f :read, :value nil}
 {:process 1, :type :ok, :f :read, :value 1}]
"""
FAILED_OPS = """; a cas and a write that failed did not happen, whatever their :error says
[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process 1, :type :invoke, :f :cas, :value [1 2]}
 {:process 1, :type :fail, :f :cas, :value [1 2], :error :mismatch}
 {:process 2, :type :invoke, :f :write, :value 3}
 {:process 2, :type :fail, :f :write, :value 3}
 {:process 0, :type :invoke, :f :read, :value nil}
 {:process 0, :type :ok, :f :read, :value 1}]
"""
INFO_WRITE_SEEN = """; a write of unknown outcome may take effect after it timed out, even after later reads
[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process 1, :type :invoke, :f :write, :value 2}
 {:process :nemesis, :type :info, :f :start, :value nil}
 {:process 1, :type :info, :f :write, :value 2, :error :timeout}
 {:process 0, :type :invoke, :f :read, :value nil}
 {:process 0, :type :ok, :f :read, :value 1}
 {:process 0, :type :invoke, :f :read, :value nil}
 {:process 0, :type :ok, :f :read, :value 2}
 {:process :nemesis, :type :info, :f :stop, :value nil}
 {:process 3, :type :invoke, :f :cas, :value [2 4]}
 {:process 3, :type :info, :f :cas, :value [2 4]}]
"""
INFO_WRITE_TWICE = """; ... but it takes effect once: 1, 2, then 1 again needs a second write of 1
[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process 1, :type :invoke, :f :write, :value 2}
 {:process 1, :type :info, :f :write, :value 2}
 {:process 0, :type :invoke, :f :read, :value nil}
 {:process 0, :type :ok, :f :read, :value 2}
 {:process 0, :type :invoke, :f :read, :value nil}
 {:process 0, :type :ok, :f :read, :value 1}]
"""
STALE_CAS = """; a cas that succeeded from a value already overwritten
[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process 0, :type :invoke, :f :write, :value 2}
 {:process 0, :type :ok, :f :write, :value 2}
 {:process 1, :type :invoke, :f :cas, :value [1 3]}
 {:process 1, :type :ok, :f :cas, :value [1 3]}]
"""


@pytest.mark.parametrize(
    ("name", "body", "knossos", "strict"),
    [
        ("nil-read", NIL_READ_AFTER_WRITE, 0, 1),
        ("failed-ops", FAILED_OPS, 0, 1),
        ("info-write-seen", INFO_WRITE_SEEN, 0, 0),
        ("info-write-twice", INFO_WRITE_TWICE, 1, 1),
        ("stale-cas", STALE_CAS, 1, 1),
    ],
)
def test_knossos_verdicts_and_strict_nil(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, body: str, knossos: int, strict: int
) -> None:
    path = str(_edn(tmp_path, name, body))
    for engine in ("auto", "python"):
        assert main(["check", path, "--engine", engine]) == knossos
        assert main(["check", path, "--engine", engine, "--strict-nil"]) == strict
    assert main(["check", path, "--model", "register" if "cas" not in body else "cas-register"]) == knossos


def test_nil_reads_stay_strict_outside_jepsen_histories(tmp_path: Path) -> None:
    """Porcupine's etcd logs and our own histories: a nil read means the key held nil."""
    log = tmp_path / "etcd.log"
    log.write_text(
        "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\n"
        "INFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\tnil\n",
        encoding="utf-8",
    )
    assert main(["check", str(log)]) == 1


def test_a_small_check_imports_only_what_it_needs(tmp_path: Path) -> None:
    """``chaos check`` imports neither the runner nor jsonschema, requests, docker (they cost ~1 s)."""
    path = str(_edn(tmp_path, "small", NIL_READ_AFTER_WRITE))
    code = (
        "import sys; from harness.cli import main; main(['check', sys.argv[1]]); print(sorted(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip().splitlines()[-1]
    heavy_modules = (
        "jsonschema",
        "requests",
        "docker",
        "harness.run",
        "harness.experiment",
        "harness.loader",
    )
    for heavy in (f"'{m}'" for m in heavy_modules):
        assert heavy not in loaded
    assert "'harness.checkers.linearizable'" in loaded


# How fast a small check answers is measured by bench/check_startup_bench.py (no wall-clock test here).
