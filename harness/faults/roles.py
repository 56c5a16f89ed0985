"""Role selectors: which nodes a fault acts on, decided from the cluster's roles at the moment it starts.

A partition (``isolate`` / ``one-way``) or a process fault (kill / restart / pause) may name ``select``
instead of ``nodes``: ``leader``, ``primary``, ``followers``, ``minority-with-leader``,
``majority-without-leader``, or a role the target declares (``replica``, ``servers``...). A ``random:`` block
may list ``targets: [leader, random]``: each drawn fault takes one of them by the schedule's seed (``random``
is today's pick of a node by seed). The schedule draws everything random before the run (which selector, and
``select_seed``: the seed of any pick the resolution makes), so the same seed gives the same choices; the
roles themselves are asked only when the fault starts (``resolve``), through a probe the target provides
(``harness.target.live_roles``), and the resolved nodes, the probe's answer and the reason are recorded in
the fault op (``Selection.record``).

Rules (``docs/experiments.md``, "Role selectors"): ``leader`` is the holder of role ``leader`` (else
``primary``), ``primary`` the holder of ``primary`` (else ``leader``); several holders (an old leader that has
not yet heard of the new term): one picked by seed. ``followers``: the probe's ``followers`` when it reports
them, else every allowed node but the leaders. ``minority-with-leader``: the leader plus seeded others, the
largest minority of the allowed nodes; ``majority-without-leader``: a seeded majority of the allowed nodes,
the leader not among them. The allowed nodes are ``among`` (nodes or a static role) or every node. When the
probe fails or finds no node with the role, the fault falls back to one node picked by seed among the allowed
nodes, and the op says so (``fallback``): never silently. This module is pure (the probe is passed in).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.faults.base import FaultContext, allowed_nodes, check_among
from harness.faults.params import Param, ParamError

LEADER, PRIMARY, FOLLOWERS = "leader", "primary", "followers"
MINORITY_WITH_LEADER, MAJORITY_WITHOUT_LEADER = "minority-with-leader", "majority-without-leader"
RANDOM = "random"  # in ``targets:`` only: pick a node by seed, as without selectors
SELECTORS = (LEADER, PRIMARY, FOLLOWERS, MINORITY_WITH_LEADER, MAJORITY_WITHOUT_LEADER)
MAX_SEED = 2**31 - 1

SELECT = Param(
    "select",
    "string",
    "Pick the nodes when the fault starts, by role: leader, primary, followers, minority-with-leader, "
    "majority-without-leader or a role the target declares (instead of nodes).",
)
SELECT_SEED = Param(
    "select_seed",
    "integer",
    "The seed of any pick select makes (set by the schedule from the run's seed; give it to fix the pick).",
    minimum=0,
    maximum=MAX_SEED,
)
TARGETS = Param(
    "targets",
    "names",
    "Role selectors random faults draw from, by seed (e.g. [leader, random]; random: a node by seed).",
)

Roles = Mapping[str, Sequence[str]]
RoleProbe = Callable[[], Mapping[str, Iterable[str]]]


def known_selectors(role_names: Iterable[str]) -> tuple[str, ...]:
    """Every selector for a target whose roles are ``role_names`` (the built-in ones need a leading role)."""
    names = tuple(dict.fromkeys(role_names))
    leading = LEADER in names or PRIMARY in names
    built_in = SELECTORS if leading else ()
    return tuple(dict.fromkeys((*built_in, *names)))


def check_selector(value: Any, role_names: Iterable[str], field: tuple[str | int, ...]) -> None:
    """Raise ``ParamError`` at ``field`` unless ``value`` is a selector this target offers."""
    valid = known_selectors(role_names)
    if not valid:
        raise ParamError(
            field,
            "this target reports no roles, so no role selector applies; name nodes instead "
            "(a target offers roles through roles(context) or target.yaml roles / role probes)",
        )
    if value not in valid:
        raise ParamError(
            field, f"unknown role {value!r}; this target's roles and selectors: {', '.join(valid)}"
        )


def draw(rng: random.Random, targets: Sequence[str]) -> dict[str, Any]:
    """What a random fault takes from ``targets:``: ``{select, select_seed}`` or nothing (``random``)."""
    chosen = rng.choice(list(targets))
    if chosen == RANDOM:
        return {}
    return {"select": chosen, "select_seed": rng.randint(0, MAX_SEED)}


@dataclass(frozen=True)
class Selection:
    """The nodes a selector resolved to when the fault started, and why; ``fallback`` says why the rule of
    last resort (one node picked by seed) was used, None when the roles answered."""

    selector: str
    nodes: tuple[str, ...]
    why: str
    roles: Mapping[str, tuple[str, ...]] | None = None
    fallback: str | None = None

    def record(self) -> dict[str, Any]:
        """The JSON form recorded in the fault op under ``selected``."""
        out: dict[str, Any] = {"selector": self.selector, "nodes": list(self.nodes), "why": self.why}
        if self.roles is not None:
            out["roles"] = {k: list(v) for k, v in self.roles.items()}
        if self.fallback is not None:
            out["fallback"] = self.fallback
        return out


def ask(probe: RoleProbe) -> tuple[dict[str, tuple[str, ...]] | None, str | None]:
    """The probe's answer (role -> sorted nodes) or None with the error, as one line."""
    try:
        answer = probe()
        return {str(k): tuple(sorted({str(n) for n in v})) for k, v in answer.items()}, None
    except Exception as e:  # noqa: BLE001 - a failing probe is recorded and the fault falls back
        return None, f"the role probe failed: {type(e).__name__}: {e}"


def _leading(roles: Roles, selector: str) -> tuple[str, ...]:
    first, second = (PRIMARY, LEADER) if selector == PRIMARY else (LEADER, PRIMARY)
    return tuple(roles.get(first) or roles.get(second) or ())


def resolve(
    selector: str,
    allowed: Sequence[str],
    roles: Roles | None,
    rng: random.Random,
    *,
    problem: str | None = None,
    leave_one: Sequence[str] = (),
) -> Selection:
    """The nodes ``selector`` names among ``allowed`` given the probe's answer ``roles`` (None: the probe
    failed with ``problem``). ``leave_one``: nodes of which one must stay outside (a partition's far side)."""
    universe = sorted(dict.fromkeys(allowed))
    seen = {k: tuple(v) for k, v in roles.items()} if roles is not None else None

    def fallback(reason: str) -> Selection:
        node = rng.choice(universe)
        return Selection(selector, (node,), f"{reason}; picked {node} by seed instead", seen, reason)

    if roles is None:
        return fallback(problem or "the role probe gave no answer")
    lead = [n for n in _leading(roles, selector) if n in universe]
    others = [n for n in universe if n not in lead]
    if selector in (LEADER, PRIMARY, MINORITY_WITH_LEADER, MAJORITY_WITHOUT_LEADER) and not lead:
        return fallback(f"no node holds the {selector if selector == PRIMARY else LEADER} role now")
    chosen: list[str]
    if selector in (LEADER, PRIMARY):
        chosen = [lead[0] if len(lead) == 1 else rng.choice(lead)]
        why = f"{chosen[0]} holds the {selector} role" + (
            f" (of {', '.join(lead)}, picked by seed)" if len(lead) > 1 else ""
        )
    elif selector == FOLLOWERS:
        reported = roles.get(FOLLOWERS)
        chosen = [n for n in universe if n in reported] if reported is not None else others if lead else []
        why = (
            "the followers reported"
            if reported is not None
            else f"every node but the leader {', '.join(lead)}"
        )
    elif selector == MINORITY_WITH_LEADER:
        leader = lead[0] if len(lead) == 1 else rng.choice(lead)
        rest = [n for n in universe if n != leader]
        size = max(1, (len(universe) - 1) // 2)
        chosen = [leader, *rng.sample(rest, min(size - 1, len(rest)))]
        why = f"the leader {leader} and {size - 1} more picked by seed: a minority of {len(universe)}"
    elif selector == MAJORITY_WITHOUT_LEADER:
        size = len(universe) // 2 + 1
        if len(others) < size:
            return fallback(f"a majority of {len(universe)} needs {size} nodes besides the leader")
        chosen = rng.sample(others, size)
        why = f"{size} of {len(universe)} picked by seed, none holding the leader role ({', '.join(lead)})"
    else:
        chosen = [n for n in universe if n in (roles.get(selector) or ())]
        why = f"the nodes holding the {selector} role"
    if not chosen:
        return fallback(f"no allowed node holds the {selector} role now")
    if leave_one and set(leave_one) <= set(chosen):
        return fallback(f"{selector} is every node; the fault must leave one outside")
    return Selection(selector, tuple(sorted(chosen)), why, seen)


def check_selection(params: Mapping[str, Any], ctx: FaultContext) -> None:
    """A step's ``select`` (a selector of this target, not beside ``nodes``) and ``among`` are valid."""
    check_among(params, ctx)
    if "select" in params:
        check_selector(params["select"], ctx.roles, ("select",))
        if params.get("nodes"):
            raise ParamError(
                ("select",), "give select or nodes, not both: select picks the nodes when it starts"
            )
    seed = params.get("select_seed")
    if seed is not None:
        problem = SELECT_SEED.problem(seed)
        if problem is not None:
            raise ParamError(("select_seed", *problem[0]), problem[1])


def check_targets(targets: Sequence[Any], ctx: FaultContext) -> None:
    """Every entry of a ``random:`` block's ``targets`` is ``random`` or a selector of this target."""
    for i, t in enumerate(targets):
        if t != RANDOM:
            check_selector(t, ctx.roles, ("targets", i))


def selection_params(rng: random.Random, spec: Mapping[str, Any], ctx: FaultContext) -> dict[str, Any]:
    """What the schedule fixes before the run for a fault that selects by role: the selector drawn from
    ``targets`` (if any), its ``select_seed``, and ``among`` as node names (a declared role's nodes)."""
    out: dict[str, Any] = {}
    if spec.get("targets"):
        out.update(draw(rng, spec["targets"]))
    if spec.get("select") and "select_seed" not in spec:
        out["select_seed"] = rng.randint(0, MAX_SEED)
    if spec.get("among") is not None and (out or spec.get("select")):
        out["among"] = allowed_nodes(spec, ctx)
    return out
