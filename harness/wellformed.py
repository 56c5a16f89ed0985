"""A history file is either a history or rejected: the structural rules every reader enforces.

Each reader (``history.read_jsonl``, the importers) hands its ops here with the line each came from. Rules:
every op has its own ``index``; a client process invokes, then completes (ok / fail / info), then may invoke
again; a completion with no open invocation is bad input, never silently skipped (skipping one can turn a
correct history into a false "not linearizable"). Nemesis ops are free-form. Every failure is a one-line
``BadInput`` naming ``file:line`` and what would be valid.

``BadOp`` is how a checker objects to one op's content: it carries the op's index, and ``at_line`` turns it
into ``file:line`` once the caller knows where the op was read from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.errors import BadInput
from harness.op import NEMESIS, Op, Process


class BadOp(BadInput):
    """An op whose content a checker cannot use; ``index`` is the op's index."""

    def __init__(self, index: int | None, message: str) -> None:
        super().__init__(f"op index {index}: {message}" if index is not None else message)
        self.index = index
        self.message = message

    def at_line(self, file: str, lines: Mapping[int, int]) -> BadInput:
        line = lines.get(self.index) if self.index is not None else None
        return BadInput(f"{file}:{line}: {self.message}" if line else f"{file}: {self}")


def check_well_formed(ops: Sequence[Op], lines: Sequence[int], file: str) -> None:
    """Raise ``BadInput`` at the first op that breaks the rules in the module docstring."""
    seen: dict[int, int] = {}
    open_: dict[Process, int] = {}
    for op, line in zip(ops, lines, strict=True):
        if op.index in seen:
            raise BadInput(
                f"{file}:{line}: index {op.index} is already used on line {seen[op.index]}; "
                "every op needs its own index"
            )
        seen[op.index] = line
        if op.process == NEMESIS:
            continue
        if op.type == "invoke":
            if op.process in open_:
                raise BadInput(
                    f"{file}:{line}: process {op.process!r} invokes while its invocation on line "
                    f"{open_[op.process]} is not complete; complete it (ok, fail or info) first"
                )
            open_[op.process] = line
        elif open_.pop(op.process, None) is None:
            raise BadInput(
                f"{file}:{line}: a completion ({op.type} {op.f}) of process {op.process!r} with no open "
                "invocation; every ok, fail or info must follow an invoke of the same process"
            )


def line_map(ops: Sequence[Op], lines: Sequence[int]) -> dict[int, int]:
    """Op index -> the line it was read from."""
    return {op.index: line for op, line in zip(ops, lines, strict=True)}
