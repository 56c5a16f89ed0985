"""The one error hierarchy of the harness, and the exit codes the CLI maps it to.

Every error a user can cause (bad input) or meet (missing infrastructure) is a ``HarnessError`` carrying a
one-line message that names the file / line / field and what would be valid. The CLI prints it without a
traceback and exits with ``exit_code``.
"""

from __future__ import annotations

import re

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNKNOWN = 2
EXIT_BAD_INPUT = 3
EXIT_CRASHED = 3  # infrastructure: a run whose workers or nemesis crashed (``harness.crash``)
EXIT_INTERRUPTED = 130


class HarnessError(Exception):
    """Base of every expected error; ``str(err)`` is a complete one-line message."""

    exit_code: int = EXIT_BAD_INPUT


class BadInput(HarnessError):
    """A malformed file, an unknown name, an out-of-range value: the user can fix the input."""


class InfrastructureError(HarnessError):
    """Docker, Toxiproxy or a port is not available or misbehaves: fix the machine, not the input."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # ESC (ANSI sequences), BEL, CR, ...; not \t, \n


def printable(text: str, *, one_line: bool = True, limit: int = 0) -> str:
    """``text`` safe for a terminal: control characters (an ANSI escape taken from an option value or a file)
    shown as ``\\x1b``, never sent raw; with ``one_line`` newlines too. ``limit``: cut to that many chars."""
    out = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    if one_line:
        out = out.replace("\n", "\\n").replace("\t", " ")
    if limit and len(out) > limit:
        out = out[: limit - 3] + "..."
    return out
