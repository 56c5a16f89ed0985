"""Importing a declaration's ``module:Class`` references, looking in the declaration's own folder first.

A user's declaration sits beside its client (``target.yaml`` + ``my_client.py``); ``client:
my_client:MyClient`` must import without ``PYTHONPATH``. When the reference's top-level module is a file or
package in the declaration's folder, that folder is put at the front of ``sys.path`` (once) before importing,
so the client may import its own helper modules the same way. A module of that name already imported from
somewhere else is refused with a line naming both places (two declarations whose clients share a module name
would otherwise silently get the first one's).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any


def local_module(module: str, folder: Path) -> Path | None:
    """The file or package of ``module``'s top-level name in ``folder``, if it is there."""
    top = module.split(".")[0]
    for candidate in (folder / f"{top}.py", folder / top / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def import_object(ref: str, folder: str | Path) -> Any:
    """The object ``module:attr`` names; ``ValueError`` with a one-line reason when it cannot be had."""
    module, _, attr = ref.partition(":")
    here = local_module(module, Path(folder))
    if here is not None:
        top = module.split(".")[0]
        loaded = sys.modules.get(top)
        where = getattr(loaded, "__file__", None) if loaded is not None else None
        if where is not None and Path(where).resolve() != here.resolve():
            raise ValueError(
                f"module {top} is already imported from {where}, not {here}; give this client module a name "
                "of its own (e.g. <system>_client.py)"
            )
        entry = str(Path(folder).resolve())
        if entry not in sys.path:
            sys.path.insert(0, entry)
    try:
        obj = getattr(importlib.import_module(module), attr)
    except ImportError as e:
        hint = "" if here is not None else f" (not found in {folder} either)"
        raise ValueError(f"cannot import {module}: {e}{hint}") from None
    except AttributeError:
        raise ValueError(f"module {module} has no {attr}") from None
    return obj
