"""Renders a run bundle into one self-contained ``report.html``, and a suite's reports into ``index.html``.

Reads only the bundle's files (``harness.bundle``); never imports the runner, the cluster or the network,
and never re-checks a history. ``render_report`` is what ``chaos report`` and the end of ``chaos run`` call.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.atomic import write_whole
from harness.bundle import Bundle
from harness.report import data, page
from harness.report.summary import write_summary

__all__ = ["render_html", "render_report", "write_summary"]


def render_html(bundle: Bundle) -> str:
    """The report page of a bundle, as a string."""
    return page.render(data.load(bundle))


def render_report(bundle: Bundle | str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> Path:
    """Write ``report.html`` (or ``out``) for a bundle, atomically; returns its path."""
    b = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
    target = Path(out) if out is not None else b.report_file
    write_whole(target, render_html(b))
    return target
