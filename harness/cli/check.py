"""``chaos check HISTORY``: run a checker on a history file: exit 0 valid, 1 invalid, 2 unknown, 3 bad input.

    chaos check HISTORY [--format auto|jsonl|jepsen-edn|porcupine-etcd|porcupine-kv] [--model NAME]
                        [--checker linearizable|exactly-once|lock-safety|list-append|rw-register]
                        [--init JSON] [--time-limit S] [--consistency-model M] [--json]

The file is read completely (and any malformed line reported with its number) before anything is checked;
nothing is written but the verdict on stdout. The default model follows the format: porcupine-etcd and
jepsen-edn -> cas-register, porcupine-kv -> kv with initial value "" (Porcupine's), jsonl -> kv.
The transactional checkers (list-append, rw-register) also read elle-edn and elle-json (see
harness.importers_txn); with --format auto they read .edn files as elle-edn and anything else as elle-json
(of which our jsonl is a special case).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from harness.checkers import exactly_once, linearizable, lock_safety
from harness.checkers.base import Result, check_safe
from harness.checkers.models import get_model, model_names
from harness.checkers.txn import check as txn_check
from harness.checkers.txn.models import DEFAULT_MODEL as DEFAULT_TXN_MODEL
from harness.checkers.txn.models import MODELS as TXN_MODELS
from harness.errors import EXIT_INVALID, EXIT_OK, EXIT_UNKNOWN, BadInput, HarnessError
from harness.history import History
from harness.importers import FORMATS, detect_format, load
from harness.importers_txn import FORMATS as TXN_FORMATS
from harness.importers_txn import load as load_txn

CHECKERS: dict[str, Callable[..., Result]] = {
    "linearizable": linearizable.check,
    "exactly-once": exactly_once.check,
    "lock-safety": lock_safety.check,
    "list-append": txn_check.list_append,
    "rw-register": txn_check.rw_register,
}
TXN_CHECKERS = ("list-append", "rw-register")
DEFAULT_MODEL = {"porcupine-etcd": "cas-register", "jepsen-edn": "cas-register", "porcupine-kv": "kv"}
DEFAULT_INIT = {"porcupine-kv": '""'}


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
        "--checker", default="linearizable", choices=sorted(CHECKERS), help="default: linearizable"
    )
    p.add_argument("--model", default=None, help=f"linearizability model: {', '.join(model_names())}")
    p.add_argument(
        "--init", default=None, metavar="JSON", help="initial register value as JSON (default null)"
    )
    p.add_argument("--time-limit", type=float, default=None, metavar="S", help="budget in seconds -> unknown")
    p.add_argument(
        "--consistency-model", default=None, choices=TXN_MODELS,
        help=f"list-append / rw-register: the model to check (default {DEFAULT_TXN_MODEL})",
    )
    p.add_argument("--json", action="store_true", help="print the result object as JSON")
    p.set_defaults(func=handle)


def _options(args: argparse.Namespace, fmt: str) -> dict[str, Any]:
    if args.checker in TXN_CHECKERS:
        if args.time_limit is not None and args.time_limit <= 0:
            raise BadInput(f"--time-limit {args.time_limit}: must be a positive number of seconds")
        return {"time_limit": args.time_limit, "consistency_model": args.consistency_model}
    if args.checker != "linearizable":
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
    if args.time_limit is not None and args.time_limit <= 0:
        raise BadInput(f"--time-limit {args.time_limit}: must be a positive number of seconds")
    return {"model": model, "init": init, "time_limit": args.time_limit}


def run_checker(name: str, history: History, options: dict[str, Any]) -> Result:
    """Bad input (a malformed op, an unknown f for the model) stays an error; any other crash is unknown."""
    fn = CHECKERS[name]
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
    history = load_txn(args.history, fmt) if fmt in TXN_FORMATS else load(args.history, fmt)
    try:
        result = run_checker(args.checker, history, options)
    except BadInput as e:
        if args.checker not in TXN_CHECKERS:
            raise
        raise BadInput(f"{args.history}: {e}") from None  # name the file, as the readers do
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        print(f"{result.checker}: valid={str(result.valid).lower()}")
        print(result.summary)
        _print_counterexample(result, history)
    if result.valid is True:
        return EXIT_OK
    return EXIT_INVALID if result.valid is False else EXIT_UNKNOWN


def _print_counterexample(result: Result, history: History) -> None:
    if result.checker in TXN_CHECKERS:
        _print_anomalies(result)
        return
    part = result.details.get("failed_part") if result.checker == "linearizable" else None
    if not part:
        return
    by_index = {op.index: op for op in history}
    describe = part.get("describe", {})

    def line(i: int) -> str:
        op = by_index.get(i)
        who = f"process {op.process}" if op is not None else "?"
        return f"  [{i}] {who}: {describe.get(str(i), op.f if op else '?')}"

    for n, seq in enumerate(part["longest"][:1]):
        print(f"longest partial linearization #{n + 1} ({len(seq)} ops):")
        for i in seq:
            print(line(i))
    print(f"state after it: {part['final_state']}; none of these could come next:")
    for i in part["stuck_ops"]:
        print(line(i))


def _print_anomalies(result: Result) -> None:
    for a in result.details.get("anomalies", []):
        print(f"{a['type']}: {a['text']} (rules out {', '.join(a['ruled_out']) or 'no model'})")
        for step in a.get("cycle", []):
            print(f"  {step['from']} -> {step['to']} {step['kind']}: {step['why']}")
