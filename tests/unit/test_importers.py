"""Importers: Jepsen EDN, both Porcupine log formats, format detection, one-line errors naming lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checkers.linearizable import check
from harness.checkers.models import MISMATCH
from harness.errors import BadInput
from harness.importers import detect_format, load, parse_all

EDN = """; a Knossos-style cas-register history
[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok,     :f :write, :value 1}
 {:process :nemesis, :type :info, :f :start-partition, :value [:n1 :n2]}
 {:process 1, :type :invoke, :f :cas, :value [1 2], :time 5}
 {:process 1, :type :fail,   :f :cas, :value [1 2], :error :timeout}
 {:process 2, :type :invoke, :f :read, :value nil}
 {:process 2, :type :ok,     :f :read, :value 1}]
"""


def test_edn_history(tmp_path: Path) -> None:
    p = tmp_path / "h.edn"
    p.write_text(EDN)
    h = load(p)
    assert len(h) == 7
    assert h[2].process == "nemesis" and h[2].f == "start-partition" and h[2].value == ["n1", "n2"]
    assert h[3].f == "cas" and h[3].value == [1, 2] and h[3].time == 5
    assert h[4].type == "fail" and h[4].error == "timeout"
    assert check(h, model="cas-register").valid is True


def test_edn_one_map_per_line_and_tags(tmp_path: Path) -> None:
    p = tmp_path / "h.edn"
    p.write_text(
        "#jepsen.history.Op{:index 0, :time 10, :process 0, :type :invoke, :f :read, :value nil}\n"
        '{:index 1, :time 20, :process 0, :type :ok, :f :read, :value "s\\"x", :extra #{1 2}}\n'
    )
    h = load(p)
    assert [op.index for op in h] == [0, 1] and h[1].value == 's"x' and h[0].time == 10
    assert parse_all("#_ 1 2 3/4 -5 nil true") == [(1, 2), (1, 0.75), (1, -5), (1, None), (1, True)]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[{:process 0 :type :invoke}", ":2: unclosed"),
        ("{:process 0, :type :bogus, :f :read}", "1: :type"),
        ("[1 2]\n]", ":2: unexpected"),
        ("{:process 0 :type}", "even number"),
    ],
)
def test_edn_errors_name_the_line(tmp_path: Path, text: str, fragment: str) -> None:
    p = tmp_path / "bad.edn"
    p.write_text("\n" + text if "unclosed" in fragment else text)
    with pytest.raises(BadInput, match=fragment.replace("(", r"\(")) as e:
        load(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_porcupine_etcd_lines(tmp_path: Path) -> None:
    p = tmp_path / "etcd_x.log"
    p.write_text(
        "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\n"
        "INFO  jepsen.util - 0\t:fail\t:cas\t[1 2]\n"
        "INFO  jepsen.util - 1   :invoke :read   nil\n"
        "INFO  jepsen.util - 1   :fail   :read   :timed-out\n"
        "INFO  jepsen.util - 2\t:invoke\t:write\t3\n"
        "INFO  jepsen.util - 2\t:info\t:write\t:timed-out\n"
    )
    assert detect_format(p) == "porcupine-etcd"
    h = load(p)
    assert h[1].type == "fail" and h[1].error == MISMATCH
    assert h[3].type == "info" and h[3].error == "timed-out"
    assert h[5].type == "info" and h[5].value == 3


def test_porcupine_kv_lines(tmp_path: Path) -> None:
    p = tmp_path / "c.txt"
    p.write_text(
        '{:process 3, :type :invoke, :f :append, :key "k", :value "x 3 0 y"}\n'
        '{:process 3, :type :ok, :f :append, :key "k", :value "x 3 0 y"}\n'
        '{:process 4, :type :invoke, :f :get, :key "k", :value nil}\n'
        '{:process 4, :type :ok, :f :get, :key "k", :value "x 3 0 y"}\n'
    )
    assert detect_format(p) == "porcupine-kv"
    h = load(p)
    assert h[0].f == "append" and h[0].value == {"key": "k", "value": "x 3 0 y"}
    assert h[2].value == {"key": "k", "value": None}
    assert check(h, model="kv", init="").valid is True
    assert check(h, model="kv", init="z").valid is False


@pytest.mark.parametrize(
    ("fmt", "name", "text", "where"),
    [
        ("porcupine-etcd", "e.log", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\ngarbage\n", ":2:"),
        ("porcupine-etcd", "e.log", "INFO  jepsen.util - 0\t:invoke\t:write\t[1\n", ":1:"),
        (
            "porcupine-kv",
            "k.txt",
            '{:process 1, :type :ok, :f :get, :key "k", :value "v"}\n{:process x}\n',
            ":2:",
        ),
        ("jsonl", "h.jsonl", '{"index":0,"time":0,"process":0,"type":"nope","f":"read"}\n{}\n', ":1:"),
    ],
)
def test_malformed_lines_name_file_and_line(
    tmp_path: Path, fmt: str, name: str, text: str, where: str
) -> None:
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(BadInput) as e:
        load(p, fmt)
    assert f"{p}{where}" in str(e.value)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="unknown history format"):
        load(tmp_path / "x", "csv")
    with pytest.raises(BadInput, match="cannot read"):
        load(tmp_path / "missing.log", "porcupine-etcd")
