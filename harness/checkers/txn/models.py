"""The anomaly vocabulary and the one table of which consistency model forbids which anomaly.

Cycle anomalies (Adya's, over the dependency graph), named as Elle names them: ``G0`` (write cycle: ww edges
only), ``G1c`` (ww and wr, at least one wr), ``G-single-item`` (exactly one rw edge), ``G2-item`` (two or more
rw edges); every rw edge here is between versions of one key, so these are Elle's item-level classes (its
predicate-level ``G-single`` / ``G2`` need predicate reads, which these workloads do not have). Each has a
``-process`` variant (the cycle needs a process-order edge) and a ``-realtime`` variant (it needs a real-time
edge): only models with session / real-time guarantees (strict serializability here) forbid those.
Non-cycle anomalies come straight from the version orders. As in Elle's table: ``duplicate-elements`` and
``garbage-read`` (a value nobody wrote) are forbidden by every model; ``incompatible-order`` (a sign of
aborted reads) from read-committed up; ``internal`` (a transaction not seeing its own earlier reads and
writes: read committed allows it, since every statement sees the latest committed data) by
snapshot-isolation and serializable; ``lost-update`` by snapshot-isolation and repeatable-read. Elle's
finer classes (G-nonadjacent, cursor stability, ...) are not searched.
"""

from __future__ import annotations

CYCLE_BASES = ("G0", "G1c", "G-single-item", "G2-item")
#: names this checker used before it took Elle's (bundles written then still say them): old -> Elle's
RENAMED = {"G-single" + v: "G-single-item" + v for v in ("", "-process", "-realtime")}
VARIANTS = ("", "-process", "-realtime")
CYCLE_ANOMALIES = tuple(b + v for b in CYCLE_BASES for v in VARIANTS)
NON_CYCLE_ANOMALIES = (
    "internal",
    "duplicate-elements",
    "incompatible-order",
    "garbage-read",
    "G1a",
    "G1b",
    "dirty-update",
    "future-read",
    "lost-update",
)
ANOMALIES = NON_CYCLE_ANOMALIES + CYCLE_ANOMALIES

MODELS = (
    "read-uncommitted",
    "read-committed",
    "snapshot-isolation",
    "repeatable-read",
    "serializable",
    "strict-serializable",
)
DEFAULT_MODEL = "strict-serializable"

_ALWAYS = frozenset({"duplicate-elements", "garbage-read"})
_RU = _ALWAYS | {"G0"}
_RC = _RU | {"G1a", "G1b", "G1c", "dirty-update", "future-read", "incompatible-order"}
_SI = _RC | {"G-single-item", "lost-update", "internal"}
_RR = _RC | {"G-single-item", "G2-item", "lost-update"}
_SER = _SI | _RR
_STRICT = _SER | {b + v for b in CYCLE_BASES for v in VARIANTS[1:]}

FORBIDS: dict[str, frozenset[str]] = {
    "read-uncommitted": _RU,
    "read-committed": _RC,
    "snapshot-isolation": _SI,
    "repeatable-read": _RR,
    "serializable": _SER,
    "strict-serializable": _STRICT,
}

DESCRIPTIONS: dict[str, str] = {
    "internal": "a transaction's read disagrees with its own earlier reads and writes of the key",
    "duplicate-elements": "a read shows the same appended element more than once",
    "incompatible-order": "two reads of a key disagree on the order of its elements",
    "garbage-read": "a read shows a value no transaction ever wrote",
    "G1a": "aborted read: a committed transaction read a failed transaction's write",
    "G1b": "intermediate read: a transaction read a version another transaction later overwrote itself",
    "dirty-update": "a committed write was installed on top of a failed transaction's write",
    "future-read": "a transaction read its own write before making it",
    "lost-update": "two committed transactions read the same version of a key and both wrote it",
    "G0": "write cycle: transactions overwrite each other in a cycle (ww edges only)",
    "G1c": "circular information flow: a cycle of ww and wr edges",
    "G-single-item": "read skew: a cycle with exactly one anti-dependency (rw) edge",
    "G2-item": "write skew: a cycle with two or more anti-dependency (rw) edges",
}


def check_model(name: str) -> str:
    """The model name, or ``ValueError`` listing the valid ones."""
    if name not in FORBIDS:
        raise ValueError(f"unknown consistency model {name!r}; valid: {', '.join(MODELS)}")
    return name


def ruled_out(anomaly: str) -> list[str]:
    """The models (of ``MODELS``) that forbid this anomaly (an old name too: ``RENAMED``)."""
    anomaly = RENAMED.get(anomaly, anomaly)
    return [m for m in MODELS if anomaly in FORBIDS[m]]


def describe(anomaly: str) -> str:
    anomaly = RENAMED.get(anomaly, anomaly)
    for suffix, words in (
        ("-process", " (the cycle needs process order)"),
        ("-realtime", " (the cycle needs real-time order)"),
    ):
        if anomaly.endswith(suffix):
            return DESCRIPTIONS[anomaly[: -len(suffix)]] + words
    return DESCRIPTIONS.get(anomaly, anomaly)
