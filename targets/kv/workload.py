"""``KvWorkload``: a seeded mix of read / write / cas over a few keys with small integer values.

Options (all optional): ``keys`` (3: keys "k0".."k2"), ``values`` (5: values 0..4), ``read`` / ``write`` /
``cas`` weights (0.5 / 0.3 / 0.2), ``ops`` (operations per worker; default unlimited, the runner's time limit
ends the run), ``pin`` (false; true: worker ``i`` stays on node ``i mod n`` for the whole run -- its client is
given that node alone, also as a fresh process after an ``info``), ``read_only`` (0: the first ``read_only``
workers only read; with ``pin``, a reader on a cut-off follower keeps reading there, where stale reads
show). Final phase: one read per key (never pinned). Checked per key by ``linearizable`` with model ``kv``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import BadInput
from harness.target import Completion

DEFAULTS: dict[str, Any] = {
    "keys": 3, "values": 5, "read": 0.5, "write": 0.3, "cas": 0.2, "ops": None, "pin": False, "read_only": 0,
}  # fmt: skip


class KvPlan:
    def __init__(self, rng: random.Random, opts: Mapping[str, Any], reader: bool = False) -> None:
        self.rng, self.opts = rng, opts
        self.left: int | None = opts["ops"]
        mix = [float(opts["read"]), float(opts["write"]), float(opts["cas"])]
        self.weights = [1.0, 0.0, 0.0] if reader else mix

    def next(self, last: tuple[str, Any, Completion] | None) -> tuple[str, Any] | None:
        if self.left is not None:
            if self.left <= 0:
                return None
            self.left -= 1
        key = f"k{self.rng.randrange(int(self.opts['keys']))}"
        v = int(self.opts["values"])
        f = self.rng.choices(["read", "write", "cas"], self.weights)[0]
        if f == "read":
            return "read", {"key": key, "value": None}
        if f == "write":
            return "write", {"key": key, "value": self.rng.randrange(v)}
        return "cas", {"key": key, "from": self.rng.randrange(v), "to": self.rng.randrange(v)}


class KvWorkload:
    name = "kv"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        opts = dict(options or {})
        unknown = sorted(set(opts) - set(DEFAULTS))
        if unknown:
            raise BadInput(f"workload.{unknown[0]}: unknown kv workload option; valid: {', '.join(DEFAULTS)}")
        merged = {**DEFAULTS, **opts}
        for name in ("keys", "values"):
            if not isinstance(merged[name], int) or isinstance(merged[name], bool) or merged[name] < 1:
                raise BadInput(f"workload.{name}: must be a positive integer, got {merged[name]!r}")
        if merged["ops"] is not None and (not isinstance(merged["ops"], int) or merged["ops"] < 0):
            raise BadInput(f"workload.ops: must be a non-negative integer or null, got {merged['ops']!r}")
        for name in ("read", "write", "cas"):
            w = merged[name]
            if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
                raise BadInput(f"workload.{name}: weight must be a number >= 0, got {w!r}")
        if not isinstance(merged["pin"], bool):
            raise BadInput(f"workload.pin: must be true or false, got {merged['pin']!r}")
        ro = merged["read_only"]
        if not isinstance(ro, int) or isinstance(ro, bool) or ro < 0:
            raise BadInput(f"workload.read_only: must be a number of workers >= 0, got {ro!r}")
        if merged["read"] + merged["write"] + merged["cas"] <= 0:
            raise BadInput(
                "workload: the read, write and cas weights are all 0; give at least one a weight > 0"
            )
        self.options = merged

    def plan(self, process: int, rng: Any, slot: int | None = None) -> KvPlan:
        """``slot``: the worker (0-based, the same for its fresh processes); the first ``read_only`` read."""
        reader = slot is not None and slot < int(self.options["read_only"])
        return KvPlan(rng if isinstance(rng, random.Random) else random.Random(rng), self.options, reader)

    def node_for(self, slot: int, nodes: Sequence[str]) -> str | None:
        """The node worker ``slot`` stays on (``pin``), or None: its client chooses."""
        return nodes[slot % len(nodes)] if self.options["pin"] and nodes else None

    def final_ops(self) -> Sequence[tuple[str, Any]]:
        return [("read", {"key": f"k{i}", "value": None}) for i in range(int(self.options["keys"]))]

    def checkers(self) -> Mapping[str, Mapping[str, Any]]:
        return {"linearizable": {"model": "kv"}}
