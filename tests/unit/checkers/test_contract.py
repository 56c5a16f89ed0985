"""The checker contract (``harness.checkers.contract``): a checker declares its details type, words, named ops
and view once; the readers (results.json, the runner, the report) find them by the checker's name with no
list of checkers of their own; old-style function checkers keep working; a broken view costs only its
drawing; and the docs' checker table lists every bundled checker."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from harness.bundle import Bundle
from harness.checkers.base import Composite, Details, PlainDetails, Result, Validity
from harness.checkers.contract import Checker, Checkers, as_checker
from harness.checkers.details import read_result
from harness.errors import BadInput
from harness.history import History, write_jsonl
from harness.loader import loads
from harness.op import Op
from harness.record import RunRecord
from harness.registry import Registries, Registry
from harness.report import data as report_data
from harness.report import page, verdicts
from harness.run import check

ROOT = Path(__file__).resolve().parents[3]
HISTORY = History(
    [
        Op(0, 0, 0, "invoke", "put", 1),
        Op(1, 1, 0, "ok", "put", 1),
        Op(2, 2, 1, "invoke", "get", None),
        Op(3, 3, 1, "ok", "get", 5),
    ]
)


@dataclass(frozen=True)
class SeenDetails(Details):
    """Values read that nothing put."""

    unseen: tuple[int, ...] = ()
    reads: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"unseen": list(self.unseen), "reads": self.reads}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SeenDetails:
        return cls(tuple(d["unseen"]), int(d["reads"]))


def seen_check(history: History, **_options: Any) -> Result:
    pairs = [p for p in history.pairs() if p.type == "ok"]
    put = {p.value for p in pairs if p.invoke.f == "put"}
    reads = [p for p in pairs if p.invoke.f == "get"]
    bad = tuple(p.invoke.index for p in reads if p.value not in put)
    return Result("seen", not bad, f"{len(bad)} unexplained reads", SeenDetails(bad, len(reads)))


def seen_words(valid: Validity, d: SeenDetails) -> str | None:
    return f"{len(d.unseen)} of {d.reads} reads saw a value nobody put." if valid is False else None


def draw(d: SeenDetails, data: report_data.ReportData) -> str:
    return f'<section class="counterexample seen">{len(data.pairs)} pairs, unseen {list(d.unseen)}</section>'


def broken_view(d: SeenDetails, data: report_data.ReportData) -> str:
    raise RuntimeError("view bug")


SEEN = Checker(
    name="seen", check=seen_check, details=SeenDetails, required=("unseen",), explain=seen_words,
    named_ops=lambda d: d.unseen, view=f"{__name__}:draw",
)  # fmt: skip


def old_style(history: History, **_options: Any) -> Result:
    """A checker as plugins were written before the contract: a plain function."""
    return Result("old", False, "old-style says no", {"why": "because"})


def _report(tmp_path: Path, checkers: Checkers, result: Result, name: str = "inv") -> str:
    """The report page of a bundle holding ``result``, its results read and drawn through ``checkers``."""
    b = Bundle.create(tmp_path, "contract")
    b.write_run(RunRecord(experiment="contract", seed=1, expect="valid", status="finished"))
    write_jsonl(HISTORY, b.history_file)
    b.write_results(Composite({name: result}), valid=result.valid, outcome="fail")
    data = report_data.load(b)
    assert data.results is not None
    typed = {k: read_result(r.to_dict(), checkers) for k, r in data.results.results.items()}
    return page.render(replace(data, results=replace(data.results, results=typed)), checkers)


def test_a_declared_checker_is_read_explained_and_drawn_through_its_declaration(tmp_path: Path) -> None:
    checkers = Checkers(Registry("checkers", {"seen": SEEN}))
    r = seen_check(HISTORY)
    back = read_result(r.to_dict(), checkers)
    assert isinstance(back.details, SeenDetails) and back.details.unseen == (2,)
    assert verdicts.explain("inv", back, checkers) == "1 of 1 reads saw a value nobody put."
    assert checkers.get("seen").ops_named(back.details) == {2}
    html = _report(tmp_path, checkers, back)
    assert '<section class="counterexample seen">2 pairs, unseen [2]</section>' in html
    assert "Why inv failed" in html and 'class="op op-ok named" data-index="2"' in html
    # without the declaration: plain details, the generic sentence, nothing drawn
    nothing = Checkers(Registry("checkers", {}))
    plain = read_result(r.to_dict(), nothing)
    assert type(plain.details) is PlainDetails
    assert verdicts.explain("inv", plain, nothing) == "The inv invariant was violated on this history."
    assert "counterexample" not in _report(tmp_path / "b", nothing, plain)


def test_details_without_the_required_keys_are_plain(tmp_path: Path) -> None:
    """A crash's traceback under a declared checker's name is not its details type."""
    checkers = Checkers(Registry("checkers", {"seen": SEEN}))
    crashed = Result("seen", "unknown", "crashed", {"traceback": "..."}, error="RuntimeError: x")
    back = read_result(crashed.to_dict(), checkers)
    assert type(back.details) is PlainDetails
    assert verdicts.explain("inv", back, checkers) == (
        "The inv checker could not decide whether the invariant holds. "
        "The checker stopped with: RuntimeError: x."
    )


def test_an_old_style_function_checker_still_runs_and_reports(tmp_path: Path) -> None:
    registries = Registries.of(checkers={"old": old_style})
    exp = loads(
        "name: c\nexpect: valid\ntarget: {name: kv, nodes: 3}\nworkload: {duration: 5}\n"
        "checkers: {old: {}}\n",
        registries=registries,
    )
    result = check(exp, HISTORY, registries).results["old"]
    assert result.valid is False and result.details == {"why": "because"}
    checkers = Checkers(registries.checkers)
    wrapped = checkers.get("old")
    assert wrapped.check is old_style and wrapped.view is None and wrapped.details is PlainDetails
    assert verdicts.explain("old", result, checkers) == "The old invariant was violated on this history."
    html = _report(tmp_path, checkers, result, "old")
    assert 'data-checker="old"' in html and "Why old failed" not in html


def test_a_broken_view_leaves_a_note_and_the_rest_of_the_report(tmp_path: Path) -> None:
    cases = ((f"{__name__}:broken_view", "RuntimeError: view bug"), ("no.such.module:x", "No module"))
    for view, words in cases:
        checkers = Checkers(Registry("checkers", {"seen": replace(SEEN, view=view)}))
        result = read_result(seen_check(HISTORY).to_dict(), checkers)
        html = _report(tmp_path / view.replace(":", "_"), checkers, result)
        assert f"The view {view} of the seen checker failed" in html and words in html
        assert "Timeline of client operations" in html


def test_a_mistaken_declaration_fails_where_it_is_made() -> None:
    with pytest.raises(TypeError, match="check must be a function"):
        Checker("x", check=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="details must subclass"):
        Checker("x", seen_check, details=dict)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'module:function'"):
        Checker("x", seen_check, view="my_view")
    with pytest.raises(TypeError, match="'module:function'"):
        Checker("x", seen_check, view=draw)  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="neither a harness.checkers.contract.Checker nor a function"):
        as_checker("x", 42)
    with pytest.raises(BadInput, match="unknown checker 'nope'; registered: seen"):
        Checkers(Registry("checkers", {"seen": SEEN})).get("nope")
    assert Checkers(Registry("checkers", {"seen": SEEN})).find("nope") is None


BUNDLED = sorted(
    ep.name for ep in metadata.entry_points(group="chaos_harness.checkers") if ep.value.startswith("harness.")
)
DISPATCH = ["harness/checkers/details.py", "harness/report/verdicts.py", "harness/report/page.py"]


def test_every_bundled_checker_is_a_declaration() -> None:
    assert BUNDLED == [
        "availability", "exactly-once", "linearizable", "list-append", "lock-safety", "rw-register",
    ]  # fmt: skip
    for name in BUNDLED:
        declared = Registry("checkers").get(name)
        assert isinstance(declared, Checker) and declared.name == name
        assert declared(History()).checker == name  # callable as the function it declares, as before
        assert declared.details is not PlainDetails and declared.required
        assert declared.explain is not None or declared.named_ops is not None


@pytest.mark.parametrize("path", DISPATCH)
def test_the_readers_name_no_checker(path: str) -> None:
    """No import of a checker's module and no checker's name in the modules that dispatch on checkers."""
    tree = ast.parse((ROOT / path).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules = {Registry("checkers").get(name).check.__module__ for name in BUNDLED}
    assert not imported & modules, imported & modules
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert not strings & set(BUNDLED), strings & set(BUNDLED)


def test_the_docs_table_lists_every_bundled_checker_as_it_is_registered() -> None:
    text = (ROOT / "docs" / "checkers.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| `([^`]+)` \|", text, flags=re.M))
    registered = {ep.name: ep.value for ep in metadata.entry_points(group="chaos_harness.checkers")}
    assert rows == {name: registered[name] for name in BUNDLED}
