"""The ``chaos`` command: a thin dispatcher over subcommand modules in this package.

Each module in ``COMMAND_MODULES`` defines ``register(subparsers)``, which adds its parser(s) and sets
``func=handler`` where ``handler(args) -> int`` returns the exit code. Expected errors are ``HarnessError``s:
printed as one line (``chaos: error: ...``), no traceback, exit code from the error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harness.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, HarnessError

# check: histories and checkers; run: run / replay / shrink; report: report / summary;
# doctor: setup diagnosis; clean: leftovers of killed runs.
COMMAND_MODULES = ("check", "run", "report", "doctor", "clean")
# Which module defines each command: ``chaos check`` imports only its own module (the runner's imports,
# jsonschema, requests, docker..., cost a second), so a small check answers at once. Help imports all.
COMMAND_MODULE = {
    "check": "check",
    "run": "run",
    "replay": "run",
    "shrink": "run",
    "report": "report",
    "summary": "report",
    "doctor": "doctor",
    "clean": "clean",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of the module ``only`` (the others are then not imported)."""
    parser = _Parser(prog="chaos", description="Fault-injection testing of distributed systems.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES if only is None else (only,):
        try:
            module = importlib.import_module(f"harness.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"harness.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def _command_module(argv: Sequence[str]) -> str | None:
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None or any(a in ("-h", "--help") for a in argv[: list(argv).index(first)]):
        return None
    return COMMAND_MODULE.get(first)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_module(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args))
    except HarnessError as e:
        print(f"chaos: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("chaos: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
