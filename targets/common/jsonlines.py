"""One JSON object per line: the encoding every queue, lock and Raft connection and journal uses.

Standard library only (it runs inside the target image). ``encode`` writes the compact form followed by a
newline; ``decode`` reads one line back and insists on an object, raising ``ValueError`` otherwise;
``read_objects`` is a server connection's read loop: every line until end of stream, decoded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any


def encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """Parse one line; ``ValueError`` if it is not JSON or not a JSON object."""
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    return obj


async def read_objects(reader: asyncio.StreamReader) -> AsyncIterator[dict[str, Any] | ValueError]:
    """Each line up to the end of the stream: its object, or the ``ValueError`` saying why it is not one.

    Errors of the stream itself (a reset, an oversized line) propagate to the caller."""
    while line := await reader.readline():
        item: dict[str, Any] | ValueError
        try:
            item = decode(line)
        except ValueError as e:
            item = e
        yield item
