"""Harness-side helpers shared by the queue and lock adapters (``target.py``, ``client.py``).

This module imports ``harness``: only adapters, which run in the harness process, may use it; a node service
(anything ``chaos_targets.<name>.node`` imports) must not. ``check_int_options``, ``check_workload_options``
and ``check_flags`` refuse a bad target option, workload option or planted-bug flag with ``BadInput`` naming
it; ``node_argv`` is the command line every node of a ``chaos_targets.<name>.node`` program starts with;
``completion_of`` / ``read_completion`` turn calls over the line protocol into completions (``NotSent``:
``fail``; ``Indefinite``: ``info``); ``raft_roles`` asks every Raft replica's ``health`` who leads now (the
kv and lock targets' ``roles``, for faults that select the leader).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaos_targets.common.wire import Indefinite, LineClient, NotSent
from harness.errors import BadInput
from harness.target import Addr, Completion, NodeContext

RAFT_ROLES = ("leader", "followers")  # what raft_roles reports: a Raft target's role_names

INSTALLED_AS = __name__.split(".")[0]  # the bundled targets' import package (chaos_targets once installed)


def check_int_options(target: str, options: Mapping[str, Any], table: Mapping[str, tuple[int, int]]) -> None:
    """Every option must be a key of ``table`` with an integer value in its range."""
    for key, value in options.items():
        if key not in table:
            raise BadInput(f"target {target}: option {key!r} is unknown; valid: {', '.join(table)}")
        lo, hi = table[key]
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise BadInput(f"target {target}: option {key} is {value!r}; expected an integer in {lo}..{hi}")


def check_workload_options(
    options: Mapping[str, Any], workload: str, valid: Mapping[str, tuple[int, int]]
) -> dict[str, int]:
    """A workload's integer options checked against their ranges; a bad one raises ``BadInput`` naming it."""
    out: dict[str, int] = {}
    for key, value in options.items():
        if key not in valid:
            raise BadInput(f"workload {workload}: option {key!r} is unknown; valid: {', '.join(valid)}")
        lo, hi = valid[key]
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise BadInput(
                f"workload {workload}: option {key} is {value!r}; expected an integer in {lo}..{hi}"
            )
        out[key] = value
    return out


def check_flags(target: str, flags: frozenset[str], valid: frozenset[str]) -> None:
    unknown = sorted(flags - valid)
    if unknown:
        raise BadInput(f"target {target}: flag {unknown[0]!r} is unknown; valid: {', '.join(sorted(valid))}")


def node_argv(target: str, role: str, ctx: NodeContext) -> list[str]:
    """``python3 -m chaos_targets.<target>.node`` with the arguments every node takes; a role adds its own."""
    return [
        "python3",
        "-m",
        f"{INSTALLED_AS}.{target}.node",
        "--role",
        role,
        "--name",
        ctx.node,
        "--listen",
        str(ctx.listen),
        "--data-dir",
        ctx.data_dir,
        "--flags",
        ",".join(sorted(ctx.flags)),
    ]


def completion_of(call: Callable[[], Completion]) -> Completion:
    """Run one operation: a request that surely never got there is ``fail``, one that may have, ``info``."""
    try:
        return call()
    except NotSent as e:
        return Completion("fail", None, str(e))
    except Indefinite as e:
        return Completion("info", None, str(e))


def read_completion(conn: LineClient, op: str, key: str) -> Completion:
    """A final-phase read: ``ok`` with the reply's ``key``, or ``fail`` with the service's error."""
    reply = conn.call({"op": op})
    return Completion("ok", reply[key]) if reply.get("ok") else Completion("fail", None, reply.get("error"))


def raft_roles(replicas: Mapping[str, Addr], timeout: float = 1.0) -> dict[str, list[str]]:
    """``{"leader": [...], "followers": [...]}`` from each replica's own ``health`` answer (role and term).

    The leader is the replica that says it leads in the highest term any leader reports (an old leader cut
    off from the rest may still say so, in an older term); every other replica is a follower.
    """
    terms: dict[str, int] = {}
    for name in sorted(replicas):
        conn = LineClient(replicas[name].host, replicas[name].port, timeout)
        try:
            reply = conn.call({"op": "health"})
            if reply.get("role") == "leader":
                terms[name] = int(reply.get("term") or 0)
        except (NotSent, Indefinite):
            continue  # a replica that does not answer is not the leader as far as anyone can tell
        finally:
            conn.close()
    top = max(terms.values(), default=0)
    leader = [n for n, t in terms.items() if t == top]
    return {"leader": leader, "followers": [n for n in sorted(replicas) if n not in leader]}
