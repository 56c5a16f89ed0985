"""Declared targets: an existing system described in a ``target.yaml`` instead of written as a Python target.

``loader`` (YAML -> validated ``Declaration``, errors naming ``file:line: field``), ``templates`` (the
``{node}``, ``{port.client}``, ``{peer.n1.host}`` fields and ``join`` lists), ``model`` (the typed records and
the per-node resolution of base, backend, role and modes), ``adapter`` (``DeclaredTarget``, the ``Target``
protocol over a declaration) and ``search`` (how experiments find declarations: a path, an entry point, or
``CHAOS_TARGET_PATH``). See ``docs/own-target.md``.
"""

from harness.declare.adapter import DeclaredTarget
from harness.declare.loader import load_declaration, loads_declaration
from harness.declare.search import declared_target, load_target, resolve_target

__all__ = [
    "DeclaredTarget",
    "declared_target",
    "load_declaration",
    "load_target",
    "loads_declaration",
    "resolve_target",
]
