"""Does the history hold what the checker checks? A checker that found none of its ops has no evidence.

``chaos check`` calls ``require_fit`` after reading a history and before checking it. A kv history checked
with ``--checker list-append`` holds no transactions: the checker would say "0 transactions: consistent",
which is a pass about nothing. Instead this is bad input (exit 3), naming what the history holds and what it
looks like, e.g. "this history holds no txn operations (its ops: read 40, write 20); it looks like a kv
history: try --checker linearizable --model kv".

What each checker checks (by ``f`` of the client invocations): ``linearizable`` the model's ``fs`` (a model
that declares none takes any client op), ``exactly-once`` ``send`` / ``read-effects``, ``lock-safety``
``acquire`` / ``release`` / ``read-resource``, ``list-append`` and ``rw-register`` ``txn`` (and, to tell them
apart, their micro-ops: ``append`` / ``r`` and ``w`` / ``r``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from harness.checkers.models import Model
from harness.errors import BadInput
from harness.history import History
from harness.op import NEMESIS, Op

KV_FS = frozenset({"read", "get", "write", "put", "cas", "append"})
QUEUE_FS = frozenset({"send", "read-effects"})
LOCK_FS = frozenset({"acquire", "release", "read-resource"})
TXN_MOPS = {"list-append": frozenset({"append", "r"}), "rw-register": frozenset({"w", "r"})}

CHECKED_FS = {
    "exactly-once": QUEUE_FS,
    "lock-safety": LOCK_FS,
    "list-append": frozenset({"txn"}),
    "rw-register": frozenset({"txn"}),
}


def checked_fs(checker: str, model: Model | None) -> frozenset[str]:
    """The ``f``s ``checker`` (with ``model``, for linearizable) checks; empty: any client op."""
    if checker == "linearizable":
        return model.fs if model is not None else frozenset()
    return CHECKED_FS.get(checker, frozenset())


def _invocations(history: History) -> list[Op]:
    return [op for op in history if op.type == "invoke" and op.process != NEMESIS]


def _mop_names(ops: Iterable[Op]) -> set[str]:
    names: set[str] = set()
    for op in ops:
        if op.f == "txn" and isinstance(op.value, list):
            names.update(m[0] for m in op.value if isinstance(m, list) and m and isinstance(m[0], str))
    return names


def looks_like(history: History) -> tuple[str, str] | None:
    """What the history's client ops look like, and the flags that check it: ``("kv", "--checker ...")``."""
    invokes = _invocations(history)
    fs = {op.f for op in invokes}
    if "txn" in fs:
        mops = _mop_names(invokes)
        if "append" in mops:
            return "list-append (transactions appending to lists)", "--checker list-append"
        if "w" in mops:
            return "rw-register (transactions writing registers)", "--checker rw-register"
    if fs & QUEUE_FS:
        return "a queue's sends and effects", "--checker exactly-once"
    if "read-resource" in fs:
        return "a lock service with a fenced resource", "--checker lock-safety"
    if fs & {"acquire", "release"}:
        return "a lock", "--checker linearizable --model mutex"
    if fs & KV_FS:
        keyed = any(isinstance(op.value, dict) and "key" in op.value for op in invokes if op.f in KV_FS)
        if keyed:
            return "kv (values with a key)", "--checker linearizable --model kv"
        return "a single register", "--checker linearizable --model cas-register"
    return None


def _mismatch(checker: str, invokes: list[Op]) -> str | None:
    """Why a transactional checker finds nothing to check in txn ops of the other kind, else None."""
    mops = _mop_names(invokes)
    own = TXN_MOPS.get(checker)
    others = [fs for name, fs in TXN_MOPS.items() if name != checker]
    if own is None or mops <= {"r"} or mops & own - {"r"} or not any(mops <= fs for fs in others):
        return None  # its own kind, reads only (either checker reads them), or unknown micro-ops (its error)
    return f"its transactions' micro-ops are {', '.join(sorted(mops))}, not {', '.join(sorted(own))}"


def require_fit(path: str, history: History, checker: str, model: Model | None) -> None:
    """``BadInput`` when the history holds none of the ops ``checker`` checks (with a hint), else nothing."""
    invokes = _invocations(history)
    wanted = checked_fs(checker, model)
    checked = [op for op in invokes if not wanted or op.f in wanted]
    why = None
    if not checked:
        what = f"f {', '.join(sorted(wanted))}" if wanted else "any client op"
        if checker == "linearizable" and model is not None:
            what = f"model {model.name}: {what}"
        ops = ", ".join(f"{f} {n}" for f, n in Counter(op.f for op in invokes).most_common(4)) or "none"
        why = f"this history holds no operation the {checker} checker checks ({what}; its ops: {ops})"
    else:
        why = _mismatch(checker, checked)
        if why is not None:
            why = f"the {checker} checker finds nothing to check: {why}"
    if why is None:
        return
    raise BadInput(f"{path}: {why}{hint(history, checker, model)}")


def hint(history: History, checker: str, model: Model | None) -> str:
    """``"; it looks like kv: try --checker linearizable --model kv"`` when the history looks like something
    other than what ``checker`` (and ``model``) check, else ``""``: appended to an error about its ops."""
    guess = looks_like(history)
    used = f"--checker {checker}" + (f" --model {model.name}" if checker == "linearizable" and model else "")
    if guess is None or guess[1] == used:
        return ""
    return f"; it looks like {guess[0]}: try {guess[1]}"
