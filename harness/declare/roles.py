"""A declared target's live roles: asked through its client class, for faults that select by role.

A declaration's fixed roles (``roles:`` in target.yaml, e.g. redis's and postgres's ``primary``) are known
before the run (``DeclaredTarget.roles_for``). A role that moves at run time (etcd's leader) is found by the
client class the declaration names: it may declare ``role_names`` (the roles it can report, checked when an
experiment is loaded) and a static or class method ``roles(context: ClientContext) -> Mapping[str,
Iterable[str]]`` that asks the live cluster, e.g. every member's status endpoint. ``DeclaredTarget`` exposes
both as its own ``role_names`` / ``roles`` (the optional members of ``harness.target``), through this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.target import ClientContext


def client_role_names(cls: Any) -> tuple[str, ...]:
    """The roles the client class says its ``roles`` can report (none when it declares no probe)."""
    if not callable(getattr(cls, "roles", None)):
        return ()
    return tuple(str(r) for r in getattr(cls, "role_names", ()))


def client_roles(cls: Any, context: ClientContext) -> Mapping[str, Iterable[str]]:
    """What the client class's ``roles(context)`` reports now; nothing when it has no probe."""
    probe = getattr(cls, "roles", None)
    return probe(context) if callable(probe) else {}
