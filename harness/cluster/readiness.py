"""One readiness probe of one node: TCP connect, HTTP status or a command exiting 0 (``Readiness``).

``Cluster.wait_ready`` polls ``probe`` for every node until all pass. A probe never raises for a node that is
not ready yet: it returns ``(False, why)`` so the timeout message can say what was last seen.
"""

from __future__ import annotations

import http.client
import socket
from typing import Any

from harness.target import Readiness


def probe(backend: Any, node: str, ready: Readiness | None) -> tuple[bool, str]:
    """Whether ``node`` is ready by ``ready`` (None: its client port accepts TCP), and what was seen."""
    kind = ready.kind if ready is not None else "tcp"
    port = ready.port if ready is not None else None
    if kind == "running":
        up = bool(backend.running(node))
        return up, "its process runs" if up else "its process is not running"
    if kind == "command":
        assert ready is not None
        code = backend.run_command(node, ready.argv, ready.env, timeout=5.0)
        return code == 0, f"{' '.join(ready.argv)} exited {code}"
    try:
        addr = backend.direct_addr(node, port)
    except KeyError:
        return False, f"no port named {port!r}"
    if kind == "tcp":
        try:
            with socket.create_connection((addr.host, addr.port), timeout=0.5):
                return True, "accepts TCP"
        except OSError as e:
            hint = "" if ready is not None else " (a node serving no port: declare ready: {running: true})"
            return False, f"{addr}: {e.strerror or e}{hint}"
    assert ready is not None
    conn = http.client.HTTPConnection(addr.host, addr.port, timeout=1.0)
    try:
        conn.request("GET", ready.path)
        status = conn.getresponse().status
    except (OSError, http.client.HTTPException) as e:
        return False, f"GET http://{addr}{ready.path}: {e}"
    finally:
        conn.close()
    return status == ready.status, f"GET http://{addr}{ready.path} answered {status}"
