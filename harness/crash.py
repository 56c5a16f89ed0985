"""A run whose workers or nemesis crashed: what crashed, with which error, recorded instead of a verdict.

An operation that fails is not a crash: the client reports it as a ``Completion`` (``fail`` / ``info``) and
the history records it. A crash is an exception outside any operation -- in a worker's plan, its client
factory or the recorder, in the nemesis applying or ending a fault, or in the final phase -- after which the
history is incomplete. The runner (``harness.run``) then heals and cleans up as always, keeps the history
recorded so far, writes ``status: crashed`` / ``outcome: crashed`` with these records into ``run.json``, exits
3 and never checks the history as if it were whole. The report and ``chaos summary`` show ``words()``.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Crash:
    """``where``: ``worker-2 (process 6)``, ``nemesis``, ``final phase``; ``error``: ``Type: message``."""

    where: str
    error: str
    traceback: str = ""

    @classmethod
    def of(cls, where: str, e: BaseException) -> Crash:
        tb = "".join(traceback.format_exception(type(e), e, e.__traceback__, limit=12))
        return cls(where, f"{type(e).__name__}: {e}", tb)

    def words(self) -> str:
        return f"{self.where} crashed: {self.error}"

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "error": self.error, "traceback": self.traceback}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Crash:
        return cls(str(d.get("where", "?")), str(d.get("error", "?")), str(d.get("traceback", "")))


def summary(crashes: list[Crash], ops: int) -> str:
    """The one line ``chaos run`` prints for a crashed run."""
    first = "; ".join(c.words() for c in crashes[:3]) + (
        f"; and {len(crashes) - 3} more" if len(crashes) > 3 else ""
    )
    return f"crashed: {first}; the history recorded so far ({ops} ops) is kept and was not checked"
