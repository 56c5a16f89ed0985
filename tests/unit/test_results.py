"""Result composition: false beats unknown beats true; a crashing checker yields unknown, never a crash."""

from __future__ import annotations

from harness.checkers.base import UNKNOWN, Result, check_safe, compose, merge_validity


def test_merge_order() -> None:
    assert merge_validity([]) is True
    assert merge_validity([True, True]) is True
    assert merge_validity([True, UNKNOWN]) == UNKNOWN
    assert merge_validity([UNKNOWN, False, True]) is False


def test_crashing_checker_is_unknown_with_error() -> None:
    def boom() -> Result:
        raise ZeroDivisionError("division by zero")

    r = check_safe("boom", boom)
    assert r.valid == UNKNOWN
    assert r.error == "ZeroDivisionError: division by zero"
    comp = compose({"ok": lambda: Result("ok", True), "boom": boom})
    assert comp.valid == UNKNOWN
    assert comp.to_dict()["results"]["ok"]["valid"] is True
    comp2 = compose({"bad": lambda: Result("bad", False), "boom": boom})
    assert comp2.valid is False
