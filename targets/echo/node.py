"""The echo node: a standard-library asyncio TCP service (it imports nothing from ``harness``).

Protocol: one JSON object per line in, one per line out, many per connection.
    {"op": "ping"}                           -> {"ok": true, "node": "n1", "boots": 3}
    {"op": "echo", "value": V}               -> {"ok": true, "node": "n1", "value": V}
    {"op": "probe", "peer": "n2", "timeout": 1.0}
        -> {"ok": true, "node": "n1", "peer": "n2", "reached": true, "rtt_ms": 1.3}
           or {"ok": true, ..., "reached": false, "error": "timeout" | "refused" | "closed" | ...}
``probe`` pings the peer through this node's address for it (a mesh proxy), so it shows reachability as
seen from inside the cluster. ``boots`` counts starts, kept in ``--data-dir`` (it survives restarts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from typing import Any


def _addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


class EchoNode:
    def __init__(self, node: str, peers: dict[str, tuple[str, int]], data_dir: str) -> None:
        self.node = node
        self.peers = peers
        os.makedirs(data_dir, exist_ok=True)
        path = os.path.join(data_dir, "boots")
        boots = int(open(path).read()) if os.path.exists(path) else 0
        self.boots = boots + 1
        with open(path + ".tmp", "w") as f:
            f.write(str(self.boots))
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + ".tmp", path)

    async def probe(self, peer: str, timeout: float) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": True, "node": self.node, "peer": peer, "reached": False}
        if peer not in self.peers:
            return {"ok": False, "node": self.node, "error": f"unknown peer {peer!r}"}
        host, port = self.peers[peer]
        start = time.monotonic()
        writer = None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(b'{"op": "ping"}\n')
                await writer.drain()
                line = await reader.readline()
            if not line:
                out["error"] = "closed"
            else:
                reply = json.loads(line)
                out["reached"] = reply.get("node") == peer
                out["rtt_ms"] = round((time.monotonic() - start) * 1000, 2)
        except TimeoutError:
            out["error"] = "timeout"
        except ConnectionRefusedError:
            out["error"] = "refused"
        except (OSError, ValueError) as e:
            out["error"] = type(e).__name__
        finally:
            if writer is not None:
                writer.close()
        return out

    async def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        op = msg.get("op")
        if op == "ping":
            return {"ok": True, "node": self.node, "boots": self.boots}
        if op == "echo":
            return {"ok": True, "node": self.node, "value": msg.get("value")}
        if op == "probe":
            return await self.probe(str(msg.get("peer")), float(msg.get("timeout", 1.0)))
        return {"ok": False, "node": self.node, "error": f"unknown op {op!r}"}

    async def serve_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    reply = await self.handle(json.loads(line))
                except ValueError:
                    reply = {"ok": False, "node": self.node, "error": "bad json"}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


async def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="echo node")
    p.add_argument("--node", required=True)
    p.add_argument("--listen", required=True, type=_addr)
    p.add_argument("--peer", action="append", default=[], help="NAME=HOST:PORT")
    p.add_argument("--data-dir", required=True)
    args = p.parse_args(argv)
    peers = {k: _addr(v) for k, v in (s.split("=", 1) for s in args.peer)}
    node = EchoNode(args.node, peers, args.data_dir)
    server = await asyncio.start_server(node.serve_conn, *args.listen, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"echo {args.node} listening on {args.listen[0]}:{args.listen[1]} (boot {node.boots})", flush=True)
    async with server:
        await stop.wait()
    print(f"echo {args.node} stopping", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
