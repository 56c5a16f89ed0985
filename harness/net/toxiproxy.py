"""The one module that talks to a Toxiproxy server: a small HTTP client with explicit timeouts.

We speak Toxiproxy's JSON API with ``requests`` rather than through ``toxiproxy-python``, which keeps the
server address in class attributes (one server per process) and sets no timeouts. One ``ToxiproxyApi``
per run, so several runs (or tests) can drive several servers at once. Every failure becomes an
``InfrastructureError`` naming the server and the request.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from harness.errors import InfrastructureError
from harness.names import TOXICS
from harness.target import Addr

TOXIC_TYPES = frozenset(TOXICS)


@dataclass(frozen=True)
class ProxyDef:
    """A proxy to create: ``listen`` and ``upstream`` are ``host:port`` strings as Toxiproxy sees them."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True


class ToxiproxyApi:
    """HTTP client for one Toxiproxy server at ``addr``; every request times out after ``timeout`` s."""

    def __init__(self, addr: Addr, timeout: float = 5.0) -> None:
        self.addr = addr
        self.timeout = timeout
        self._base = f"http://{addr.host}:{addr.port}"
        self._session = requests.Session()
        self._session.trust_env = False  # never route our own loopback / container traffic through a proxy

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, body: Any = None, ok: Sequence[int] = (200, 201, 204)) -> Any:
        url = self._base + path
        try:
            r = self._session.request(method, url, json=body, timeout=self.timeout)
        except requests.RequestException as e:
            raise InfrastructureError(f"toxiproxy at {self.addr}: {method} {path} failed: {e}") from None
        if r.status_code not in ok:
            raise InfrastructureError(
                f"toxiproxy at {self.addr}: {method} {path} answered {r.status_code}: {r.text.strip()[:200]}"
            )
        if r.status_code == 204 or not r.content:
            return None
        return r.json()

    def version(self) -> str:
        try:
            r = self._session.get(self._base + "/version", timeout=self.timeout)
        except requests.RequestException as e:
            raise InfrastructureError(f"toxiproxy at {self.addr} does not answer: {e}") from None
        return r.text.strip()

    def wait_ready(self, timeout: float = 10.0) -> str:
        """Poll ``/version`` until the server answers; returns its version."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = self._session.get(self._base + "/version", timeout=min(1.0, self.timeout))
                if r.status_code == 200:
                    return r.text.strip()
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise InfrastructureError(f"toxiproxy at {self.addr} did not answer within {timeout:.0f} s")
            time.sleep(0.02)

    def populate(self, proxies: Sequence[ProxyDef]) -> dict[str, str]:
        """Create (or replace) many proxies in one request; returns ``{name: actual listen address}``."""
        body = [
            {"name": p.name, "listen": p.listen, "upstream": p.upstream, "enabled": p.enabled}
            for p in proxies
        ]
        data = self._call("POST", "/populate", body)
        listed = data.get("proxies", []) if isinstance(data, dict) else data
        return {p["name"]: p["listen"] for p in listed}

    def proxies(self) -> dict[str, dict[str, Any]]:
        data = self._call("GET", "/proxies")
        return dict(data) if isinstance(data, Mapping) else {}

    def set_enabled(self, name: str, enabled: bool) -> None:
        self._call("PATCH", f"/proxies/{quote(name)}", {"enabled": enabled})

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{quote(name)}", ok=(200, 204, 404))

    def add_toxic(
        self,
        proxy: str,
        name: str,
        kind: str,
        attributes: Mapping[str, Any],
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> None:
        if kind not in TOXIC_TYPES:
            raise InfrastructureError(f"toxic type {kind!r} is not one of {', '.join(sorted(TOXIC_TYPES))}")
        body = {
            "name": name,
            "type": kind,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": dict(attributes),
        }
        self._call("POST", f"/proxies/{quote(proxy)}/toxics", body)

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{quote(proxy)}/toxics/{quote(name)}", ok=(200, 204, 404))

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        data = self._call("GET", f"/proxies/{quote(proxy)}/toxics")
        return list(data) if isinstance(data, list) else []

    def reset(self) -> None:
        """Enable every proxy and remove every toxic (Toxiproxy's ``POST /reset``)."""
        self._call("POST", "/reset")
