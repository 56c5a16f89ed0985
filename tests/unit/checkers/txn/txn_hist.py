"""A small builder of transactional histories for the checker tests: invocations and completions in order."""

from __future__ import annotations

from typing import Any

from harness.history import History
from harness.op import Op


def _blank(mops: list[list[Any]]) -> list[list[Any]]:
    return [[f, k, None] if f == "r" else [f, k, v] for f, k, v in mops]


class H:
    def __init__(self) -> None:
        self.ops: list[Op] = []
        self._open: dict[int, list[list[Any]]] = {}

    def _add(self, p: int, typ: str, value: Any) -> H:
        self.ops.append(Op(len(self.ops), len(self.ops) * 10, p, typ, "txn", value))  # type: ignore[arg-type]
        return self

    def begin(self, p: int, mops: list[list[Any]]) -> H:
        self._open[p] = mops
        return self._add(p, "invoke", _blank(mops))

    def end(self, p: int, typ: str = "ok") -> H:
        mops = self._open.pop(p)
        return self._add(p, typ, mops if typ == "ok" else _blank(mops))

    def txn(self, p: int, mops: list[list[Any]], typ: str = "ok") -> H:
        return self.begin(p, mops).end(p, typ)

    def history(self) -> History:
        return History(self.ops)
