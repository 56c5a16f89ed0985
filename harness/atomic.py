"""Files written whole: a temporary file beside the target, then a rename, so a reader never sees half a file.

Every bundle file (``run.json``, ``results.json``, a rewritten ``history.jsonl``), report and summary page is
written through ``write_whole``. When the write fails (the output directory's disk is full, it is read-only,
a path component is a file), the temporary file is removed, so no ``.tmp`` is left behind, and the failure is
one ``InfrastructureError`` line: ``cannot write <path>: no space left on device``. ``in_place=True`` (the
run record) then tries once more by rewriting the existing file where it lies: its blocks are already
allocated, so on a full disk a run can still be marked ``crashed`` (not atomic, but better than a record that
says ``running`` forever).
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import InfrastructureError


def cannot_write(path: str | os.PathLike[str], e: OSError) -> InfrastructureError:
    """The one-line error for a failed write of ``path``."""
    why = (e.strerror or str(e) or type(e).__name__).lower()
    return InfrastructureError(f"cannot write {path}: {why}")


def write_whole(path: str | os.PathLike[str], text: str, *, in_place: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; ``InfrastructureError`` naming the path on failure."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)
        return
    except OSError as e:
        error = e
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
    if in_place and p.is_file():
        try:
            with p.open("r+", encoding="utf-8") as fh:
                fh.write(text)
                fh.truncate()
            return
        except OSError:
            pass
    raise cannot_write(p, error) from None
