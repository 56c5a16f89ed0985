"""The ``chaos`` command: a thin dispatcher over subcommand modules in this package.

Each module in ``COMMAND_MODULES`` defines ``register(subparsers)``, which adds its parser(s) and sets
``func=handler`` where ``handler(args) -> int`` returns the exit code. Expected errors are ``HarnessError``s:
printed as one line (``chaos: error: ...``), no traceback, exit code from the error. SIGINT and SIGTERM exit
130. Anything unexpected (a bug, an exhausted resource) is exit 3 too, never 1 (which means "invalid"): one
line on stderr, the traceback in ``CHAOS_HOME/crash/<time>-<pid>.log``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from harness.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, HarnessError, printable
from harness.interrupts import ignore_after_trap, trapped
from harness.provenance import harness_version

# check: histories and checkers; run: run / replay / shrink; report: report / summary;
# doctor: setup diagnosis; clean: leftovers of killed runs; build: targets' docker images ahead of runs;
# setup: prepare the machine.
COMMAND_MODULES = ("check", "run", "report", "doctor", "clean", "build", "setup")
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
    "build": "build",
    "setup": "setup",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # one line, like every other error: no usage block, a long or escape-laden value cut and shown escaped
        text = printable(message, limit=300)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {text} (see {self.prog} -h)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of the module ``only`` (the others are then not imported)."""
    parser = _Parser(prog="chaos", description="Fault-injection testing of distributed systems.")
    parser.add_argument("--version", action="version", version=f"chaos-harness {harness_version()}")
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


def crash_log(exc: BaseException) -> Path | None:
    """Write ``exc``'s traceback to ``CHAOS_HOME/crash/``; its path, or None when it cannot be written."""
    from harness.cluster.rundir import chaos_home

    try:
        d = chaos_home() / "crash"
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        path.write_text(
            " ".join(sys.argv) + "\n" + "".join(traceback.format_exception(exc)), encoding="utf-8"
        )
        return path
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    with trapped():
        try:
            words = list(sys.argv[1:] if argv is None else argv)
            parser = build_parser(_command_module(words))
            args = parser.parse_args(words)
            if not getattr(args, "func", None):
                parser.print_help(sys.stderr)
                return EXIT_BAD_INPUT
            return int(args.func(args))
        except HarnessError as e:
            print(f"chaos: error: {printable(str(e))}", file=sys.stderr)
            return e.exit_code
        except KeyboardInterrupt:
            print("chaos: interrupted", file=sys.stderr)
            if argv is None:  # the program itself (not a caller's in-process use): it exits now
                ignore_after_trap()
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            return 0
        except RecursionError as e:
            log = crash_log(e)
            print(f"chaos: error: input nested too deeply to process (traceback: {log})", file=sys.stderr)
            return EXIT_BAD_INPUT
        except MemoryError as e:
            log = crash_log(e)
            print(f"chaos: error: out of memory (traceback: {log})", file=sys.stderr)
            return EXIT_BAD_INPUT
        except Exception as e:  # noqa: BLE001 - never a traceback, never exit 1 ("invalid")
            log = crash_log(e)
            where = f"traceback in {log}" if log else "no traceback could be written"
            msg = " ".join(str(e).split())[:200]
            print(f"chaos: internal error: {type(e).__name__}: {msg} ({where})", file=sys.stderr)
            return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
