"""The memkv node: a standard-library TCP service (it imports nothing from ``harness``).

One JSON object per line in, one per line out:
    {"op": "get", "key": K}                 -> {"ok": true, "value": V or null}
    {"op": "put", "key": K, "value": V}     -> {"ok": true}
    {"op": "cas", "key": K, "from": A, "to": B} -> {"ok": true} or {"ok": false, "error": "cas mismatch"}

Correct mode: every change is appended to ``<data dir>/log`` and fsynced before it is acknowledged, and
replayed at start, so a crash loses nothing acknowledged. The planted bug ``lost-writes`` acknowledges changes
it keeps only in memory: a crash (``kill``) forgets them.
"""

from __future__ import annotations

import argparse
import json
import os
import socketserver
import threading
from typing import Any


class Store:
    def __init__(self, data_dir: str, durable: bool) -> None:
        self.path = os.path.join(data_dir, "log")
        self.durable = durable
        self.data: dict[str, Any] = {}
        self.lock = threading.Lock()
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                for line in f:
                    if line.endswith("\n"):  # a torn last line was never acknowledged
                        change = json.loads(line)
                        self.data[change["key"]] = change["value"]
        self.log = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - open for the node's life

    def _set(self, key: str, value: Any) -> None:
        if self.durable:
            self.log.write(json.dumps({"key": key, "value": value}) + "\n")
            self.log.flush()
            os.fsync(self.log.fileno())
        self.data[key] = value

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op, key = req.get("op"), str(req.get("key"))
        with self.lock:
            if op == "get":
                return {"ok": True, "value": self.data.get(key)}
            if op == "put":
                self._set(key, req.get("value"))
                return {"ok": True}
            if op == "cas":
                if self.data.get(key) != req.get("from"):
                    return {"ok": False, "error": "cas mismatch"}
                self._set(key, req.get("to"))
                return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}"}


def serve(host: str, port: int, store: Store) -> None:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for line in self.rfile:
                try:
                    reply = store.handle(json.loads(line))
                except ValueError as e:
                    reply = {"ok": False, "error": f"bad request: {e}"}
                self.wfile.write(json.dumps(reply).encode() + b"\n")
                self.wfile.flush()

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    with Server((host, port), Handler) as server:
        server.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--listen", required=True, help="host:port to serve clients on")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--lost-writes", action="store_true", help="planted bug: keep changes in memory only")
    args = p.parse_args()
    host, _, port = args.listen.rpartition(":")
    os.makedirs(args.data_dir, exist_ok=True)
    serve(host, int(port), Store(args.data_dir, durable=not args.lost_writes))


if __name__ == "__main__":
    main()
