"""``chaos check HISTORY``: run a checker on a history file: exit 0 valid, 1 invalid, 2 unknown, 3 bad input.

    chaos check HISTORY [--format auto|jsonl|jepsen-edn|porcupine-etcd|porcupine-kv] [--model NAME]
                        [--checker NAME (any registered checker; default linearizable)]
                        [--init JSON] [--time-limit S] [--consistency-model M]
                        [--max-memory MB] [--strict-nil] [--engine auto|native|python] [--json]
                        [--evidence auto|on|off] [--min-ok N] [--max-history-mb MB]

The file is size-checked (``--max-history-mb``, default 512), then read completely (any malformed line, a
duplicate index or a completion without an invocation reported as ``file:line``) before anything is checked;
a checker's objection to one op's content is reported at that op's line too (exit 3);
nothing is written but the verdict on stdout. The default model follows the format: porcupine-etcd and
jepsen-edn -> cas-register, porcupine-kv -> kv with initial value "" (Porcupine's), jsonl -> kv.
A valid verdict on a history that holds too little evidence is ``unknown`` (``harness.cli.check_evidence``).
Jepsen histories (jepsen-edn) are judged as Knossos judges them: a completed read of nil matches any state
and every :fail op is dropped; ``--strict-nil`` makes a nil read mean "the value was nil".
``--checker`` takes any checker registered in ``chaos_harness.checkers`` (a plugin's too: it gets
``--time-limit`` when its check takes ``time_limit``); only the one named is imported, so a small check
answers in a fraction of a second.
The transactional checkers (list-append, rw-register) also read elle-edn and elle-json (see
harness.importers_txn); with --format auto they read .edn files as elle-edn and anything else as elle-json
(of which our jsonl is a special case).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
from collections.abc import Callable
from typing import Any

from harness.checkers.base import Result, check_safe
from harness.checkers.contract import Checkers
from harness.checkers.models import BUNDLED_MODELS, MODELS_GROUP, get_model
from harness.checkers.txn.models import DEFAULT_MODEL as DEFAULT_TXN_MODEL
from harness.checkers.txn.models import MODELS as TXN_MODELS
from harness.cli import check_evidence
from harness.errors import EXIT_INVALID, EXIT_OK, EXIT_UNKNOWN, BadInput, HarnessError
from harness.history import History
from harness.importers import FORMATS, detect_format, load_with_lines
from harness.importers_txn import FORMATS as TXN_FORMATS
from harness.importers_txn import load as load_txn
from harness.limits import MAX_HISTORY_MB
from harness.wellformed import BadOp

TXN_CHECKERS = ("list-append", "rw-register")
DEFAULT_MODEL = {"porcupine-etcd": "cas-register", "jepsen-edn": "cas-register", "porcupine-kv": "kv"}
DEFAULT_INIT = {"porcupine-kv": '""'}
NIL_ANY_FORMATS = ("jepsen-edn",)  # Knossos's reading of nil reads and :fail ops
ENGINES = ("auto", "native", "python")


def checker_fn(name: str) -> Callable[..., Result]:
    """The check function registered as ``name``; only its module is imported."""
    return Checkers().get(name).check


def _taken(name: str, fn: Callable[..., Result], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` without the unset ones (None) that ``fn`` does not take (a plugin's check may take none);
    one that is set but not taken is bad input."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return options
    for k, v in options.items():
        if k not in params and v is not None:
            raise BadInput(f"--{k.replace('_', '-')}: the {name} checker does not take it")
    return {k: v for k, v in options.items() if k in params}


def _size_ok(path: str, max_mb: float) -> None:
    """Refuse a file over the history size limit before reading it (``--max-history-mb``)."""
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise BadInput(f"{path}: cannot read: {e.strerror}") from None
    if size > max_mb * 1024 * 1024:
        raise BadInput(
            f"{path}: {size / 2**20:.1f} MB is over the history limit {max_mb:g} MB (--max-history-mb)"
        )


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check", help="check a history file (exit 0 valid, 1 invalid, 2 unknown, 3 bad)"
    )
    p.add_argument("history", metavar="HISTORY", help="history file")
    p.add_argument(
        "--format", default="auto", choices=("auto", *FORMATS, *TXN_FORMATS),
        help="file format (default: guess)",
    )
    p.add_argument(
        "--checker", default="linearizable", choices=Checkers().names(),
        help="any registered checker (default: linearizable)",
    )
    p.add_argument(
        "--model",
        default=None,
        help=f"linearizability model: {', '.join(BUNDLED_MODELS)}, or one installed (group {MODELS_GROUP})",
    )
    p.add_argument(
        "--init", default=None, metavar="JSON", help="initial register value as JSON (default null)"
    )
    p.add_argument("--time-limit", type=float, default=None, metavar="S", help="budget in seconds -> unknown")
    p.add_argument(
        "--max-memory", type=float, default=None, metavar="MB",
        help="memory for one part's search, MB (default 1024) -> unknown",
    )  # fmt: skip
    p.add_argument(
        "--strict-nil", action="store_true",
        help="jepsen-edn: a nil read means the value was nil (default as Knossos: it matches any state)",
    )  # fmt: skip
    p.add_argument(
        "--engine", default="auto", choices=ENGINES,
        help="linearizability search: native core when built (auto), or pure Python",
    )  # fmt: skip
    p.add_argument(
        "--max-history-mb",
        type=float,
        default=MAX_HISTORY_MB,
        metavar="MB",
        help=f"refuse larger history files (default {MAX_HISTORY_MB})",
    )
    p.add_argument(
        "--consistency-model", default=None, choices=TXN_MODELS,
        help=f"list-append / rw-register: the model to check (default {DEFAULT_TXN_MODEL})",
    )
    p.add_argument("--json", action="store_true", help="print the result object as JSON")
    check_evidence.add_arguments(p)
    p.set_defaults(func=handle)


def _positive(flag: str, value: float | None, unit: str) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise BadInput(f"{flag} {value}: must be a positive, finite number of {unit}")


def _options(args: argparse.Namespace, fmt: str) -> dict[str, Any]:
    _positive("--time-limit", args.time_limit, "seconds")
    _positive("--max-history-mb", args.max_history_mb, "megabytes")
    if args.checker in TXN_CHECKERS:
        for flag, value in (("--model", args.model), ("--init", args.init)):
            if value is not None:
                raise BadInput(f"{flag}: only the linearizable checker takes it, not {args.checker}")
        return {"time_limit": args.time_limit, "consistency_model": args.consistency_model}
    if args.checker != "linearizable":
        for flag, value in (("--model", args.model), ("--init", args.init)):
            if value is not None:
                raise BadInput(f"{flag}: only the linearizable checker takes it, not {args.checker}")
        return {"time_limit": args.time_limit}
    model = args.model or DEFAULT_MODEL.get(fmt, "kv")
    get_model(model)  # an unknown model is bad input, before any work
    raw = args.init if args.init is not None else DEFAULT_INIT.get(fmt)
    try:
        init = None if raw is None else json.loads(raw)
    except json.JSONDecodeError as e:
        raise BadInput(
            f"--init {raw!r} is not JSON ({e.msg}); e.g. --init null, --init 0, --init '\"x\"'"
        ) from None
    opts: dict[str, Any] = {
        "model": model,
        "init": init,
        "time_limit": args.time_limit,
        "engine": args.engine,
    }
    if args.max_memory is not None:
        _positive("--max-memory", args.max_memory, "MB")
        opts["max_memory_mb"] = args.max_memory
    opts["nil_reads"] = "any" if fmt in NIL_ANY_FORMATS and not args.strict_nil else "strict"
    return opts


def run_checker(name: str, history: History, options: dict[str, Any]) -> Result:
    """Bad input (a malformed op, an unknown f for the model) stays an error; any other crash is unknown."""
    fn = checker_fn(name)
    options = _taken(name, fn, options)
    bad: list[HarnessError] = []

    def call() -> Result:
        try:
            return fn(history, **options)
        except HarnessError as e:
            bad.append(e)
            raise

    result = check_safe(name, call)
    if bad:
        raise bad[0]
    return result


def handle(args: argparse.Namespace) -> int:
    fmt = detect_format(args.history) if args.format == "auto" else args.format
    if args.format == "auto" and args.checker in TXN_CHECKERS:
        fmt = "elle-edn" if fmt == "jepsen-edn" else "elle-json"
    options = _options(args, fmt)
    if fmt in TXN_FORMATS:
        _size_ok(args.history, args.max_history_mb)
        history, lines = load_txn(args.history, fmt), None
    else:
        history, lines = load_with_lines(args.history, fmt, int(args.max_history_mb * 1024 * 1024))
    if not history:
        raise BadInput(f"{args.history}: no operations; a history holds at least one op")
    found, applied = check_evidence.gather(args, fmt, history)
    try:
        result = run_checker(args.checker, history, options)
    except BadOp as e:
        if lines is None:
            raise BadInput(f"{args.history}: {e}") from None
        raise e.at_line(args.history, lines) from None
    except BadInput as e:
        if args.checker not in TXN_CHECKERS:
            raise
        raise BadInput(f"{args.history}: {e}") from None  # name the file, as the readers do
    valid = check_evidence.verdict(result, found, applied)
    if args.json:
        print(json.dumps(check_evidence.to_json(result, found, applied), indent=2, default=str))
    else:
        print(f"{result.checker}: valid={str(valid).lower()}")
        print(result.summary)
        check_evidence.print_plain(result, found, applied)
        _print_counterexample(result, history)
    if valid is True:
        return EXIT_OK
    return EXIT_INVALID if valid is False else EXIT_UNKNOWN


def _print_counterexample(result: Result, history: History) -> None:
    # imported here: ``chaos check`` loads only the checker it runs (start-up time)
    from harness.checkers.linearizable import LinearizableDetails
    from harness.checkers.txn.check import TxnDetails

    if isinstance(result.details, TxnDetails):
        _print_anomalies(result.details)
        return
    part = result.details.failed_part if isinstance(result.details, LinearizableDetails) else None
    if part is None:
        return
    by_index = {op.index: op for op in history}
    describe = part.describe

    def line(i: int) -> str:
        op = by_index.get(i)
        who = f"process {op.process}" if op is not None else "?"
        return f"  [{i}] {who}: {describe.get(str(i), op.f if op else '?')}"

    for n, seq in enumerate(part.longest[:1]):
        print(f"longest partial linearization #{n + 1} ({len(seq)} ops):")
        for i in seq:
            print(line(i))
    print(f"state after it: {part.final_state}; none of these could come next:")
    for i in part.stuck_ops:
        print(line(i))


def _print_anomalies(details: Any) -> None:
    """A ``TxnDetails``' anomalies, one line each with its cycle's edges."""
    for a in details.anomalies:
        print(f"{a['type']}: {a['text']} (rules out {', '.join(a['ruled_out']) or 'no model'})")
        for step in a.get("cycle", []):
            print(f"  {step['from']} -> {step['to']} {step['kind']}: {step['why']}")
