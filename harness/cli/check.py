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
from collections.abc import Callable
from typing import Any

from harness.checkers.base import Result, check_safe
from harness.checkers.contract import Checkers
from harness.checkers.models import BUNDLED_MODELS, MODELS_GROUP, get_model
from harness.checkers.txn.models import DEFAULT_MODEL as DEFAULT_TXN_MODEL
from harness.checkers.txn.models import MODELS as TXN_MODELS
from harness.cli import check_evidence, check_fit
from harness.errors import EXIT_INVALID, EXIT_OK, EXIT_UNKNOWN, BadInput, HarnessError
from harness.history import History, read_history_bytes
from harness.importers import FORMATS, detect_format, load_with_lines
from harness.importers_txn import FORMATS as TXN_FORMATS
from harness.importers_txn import load_with_lines as load_txn
from harness.limits import MAX_HISTORY_MB, MAX_HISTORY_MB_CEILING, MAX_MEMORY_MB, MAX_SECONDS, json_value
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


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check", help="check a history file (exit 0 valid, 1 invalid, 2 unknown, 3 bad)"
    )
    p.add_argument("history", metavar="HISTORY", help="history file")
    p.add_argument(
        "--format",
        default="auto",
        choices=("auto", *FORMATS, *TXN_FORMATS),
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
        "--consistency-model",
        default=None,
        choices=TXN_MODELS,
        action="append",
        help=f"list-append / rw-register: the model to check (default {DEFAULT_TXN_MODEL}); repeat it to "
        "hold the history to several (every model gets a verdict in the table)",
    )
    p.add_argument("--json", action="store_true", help="print the result object as JSON")
    check_evidence.add_arguments(p)
    p.set_defaults(func=handle)


def _in_range(flag: str, value: float | None, ceiling: float, unit: str) -> None:
    """A positive number of ``unit`` at most ``ceiling`` (the documented range; docs/checkers.md)."""
    if value is not None and not (math.isfinite(value) and 0 < value <= ceiling):
        raise BadInput(f"{flag} {value}: must be a positive, finite number of {unit}, at most {ceiling:g}")


def _options(args: argparse.Namespace, fmt: str) -> dict[str, Any]:
    _in_range("--time-limit", args.time_limit, MAX_SECONDS, "seconds")
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
        init = None if raw is None else json_value(raw)
    except json.JSONDecodeError as e:
        raise BadInput(
            f"--init {raw!r} is not JSON ({e.msg}); e.g. --init null, --init 0, --init '\"x\"'"
        ) from None
    except ValueError as e:  # NaN, 1e400, an integer of more than 1000 digits
        raise BadInput(f"--init {str(raw)[:40]!r}: {e}; the initial value is finite JSON") from None
    opts: dict[str, Any] = {
        "model": model,
        "init": init,
        "time_limit": args.time_limit,
        "engine": args.engine,
    }
    if args.max_memory is not None:
        _in_range("--max-memory", args.max_memory, MAX_MEMORY_MB, "MB")
        opts["max_memory_mb"] = args.max_memory
    opts["nil_reads"] = "any" if fmt in NIL_ANY_FORMATS and not args.strict_nil else "strict"
    return opts


def _txn_hint(args: argparse.Namespace, fmt: str, data: bytes) -> str:
    """When a history unreadable as ``fmt`` reads as a transactional one: what to try (else "")."""
    if args.format != "auto" or fmt not in ("jsonl", "jepsen-edn"):
        return ""
    try:
        history, _ = load_txn(args.history, "elle-edn" if fmt == "jepsen-edn" else "elle-json", data)
    except BadInput:
        return ""
    return check_fit.hint(history, args.checker, None) if history else ""


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
    _in_range("--max-history-mb", args.max_history_mb, MAX_HISTORY_MB_CEILING, "megabytes")
    # read once, size-bounded: a pipe (``<(cat H)``, ``/dev/stdin``) cannot be opened a second time, so the
    # format is guessed from these bytes and the reader parses the same bytes
    data = read_history_bytes(args.history, int(args.max_history_mb * 1024 * 1024))
    fmt = detect_format(args.history, data) if args.format == "auto" else args.format
    if args.format == "auto" and args.checker in TXN_CHECKERS:
        if fmt in DEFAULT_MODEL and fmt != "jepsen-edn":  # a Porcupine log: no transactions in it
            raise BadInput(
                f"{args.history}: this looks like a {fmt} history, which the {args.checker} checker does "
                f"not read; try --checker linearizable --model {DEFAULT_MODEL[fmt]}"
            )
        fmt = "elle-edn" if fmt == "jepsen-edn" else "elle-json"
    options = _options(args, fmt)
    if fmt in TXN_FORMATS:
        history, lines = load_txn(args.history, fmt, data)
    else:
        try:
            history, lines = load_with_lines(args.history, fmt, data=data)
        except BadInput as e:
            raise BadInput(f"{e}{_txn_hint(args, fmt, data)}") from None
    if not history:
        raise BadInput(f"{args.history}: no operations; a history holds at least one op")
    model = get_model(options["model"]) if args.checker == "linearizable" else None
    check_fit.require_fit(args.history, history, args.checker, model)  # nothing checked is no evidence
    found, applied = check_evidence.gather(args, fmt, history)
    try:
        result = run_checker(args.checker, history, options)
    except BadOp as e:  # an op the checker cannot use: where it is, and what the history looks like
        where = e.at_line(args.history, lines)
        raise BadInput(f"{where}{check_fit.hint(history, args.checker, model)}") from None
    except BadInput as e:
        if args.checker not in TXN_CHECKERS:
            raise
        hint = check_fit.hint(history, args.checker, model)
        raise BadInput(f"{args.history}: {e}{hint}") from None  # name the file, as the readers do
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
        node = part.nodes.get(str(i))
        who += f" on {node}" if node else ""
        return f"  [{i}] {who}: {describe.get(str(i), op.f if op else '?')}"

    for n, seq in enumerate(part.longest[:1]):
        print(f"longest partial linearization #{n + 1} ({len(seq)} ops):")
        for i in seq:
            print(line(i))
    print(f"state after it: {part.final_state}; none of these could come next:")
    for i in part.stuck_ops:
        print(line(i))


def _print_anomalies(details: Any) -> None:
    """A ``TxnDetails``' per-model verdict table, then its anomalies, one line each with its cycle's edges."""
    table = getattr(details, "model_verdicts", None) or {}
    if table:
        width = max(len(m) for m in table)
        print("model verdicts:")
        for m, verdict in table.items():
            print(f"  {m:<{width}}  {verdict}")
    for a in details.anomalies:
        print(f"{a['type']}: {a['text']} (rules out {', '.join(a['ruled_out']) or 'no model'})")
        where = {t.get("name"): t.get("node") for t in a.get("txns", []) if t.get("node")}
        if where:
            print("  served by: " + ", ".join(f"{name} on {node}" for name, node in where.items()))
        for step in a.get("cycle", []):
            print(f"  {step['from']} -> {step['to']} {step['kind']}: {step['why']}")
