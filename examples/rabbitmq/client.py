"""``RabbitClient``: the queue workload's ``send`` and final drain over AMQP 0-9-1 (the ``amqp`` package).

One client per worker, on node ``process % n``; after a lost connection it moves to the next node. Every
connection declares the queue (durable, ``x-queue-type: quorum``; in mode ``classic-transient`` a non-durable
classic queue) and publishes in confirm mode: ``send`` is ``ok`` only once the broker confirmed it (for a
quorum queue: a majority of its replicas have it).

Completions are honest: a connection refused or a declare refused (nothing was published) is ``fail``; a
publish the broker nacked, a confirm that did not come within the timeout, or a connection lost after
publishing is ``info`` (the message may be enqueued). The final ``read-effects`` drains the queue with
``basic.get`` from whichever node answers (an effect per message fetched: ``msg``, ``node``,
``redelivered``); a message fetched whose ack was lost with its connection is fetched again later, and both
fetches are listed (the exactly-once checker's ``duplicates: count`` counts them). ``read-deliveries`` is not
offered (``fail``: RabbitMQ keeps no delivery trail; experiments set the queue workload's ``trail: 0``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import amqp

from harness.target import Addr, ClientContext, Completion

QUEUE = "chaos-ledger"
TRANSIENT = "classic-transient"


class RabbitClient:
    """One worker's AMQP connection (see the module docstring); ``roles`` and other keywords are unused."""

    def __init__(
        self,
        nodes: Mapping[str, Addr],
        process: int,
        timeout: float,
        *,
        context: ClientContext | None = None,
        **_: Any,
    ) -> None:
        self.order, self.addrs = sorted(nodes), dict(nodes)
        if not self.order:
            raise ValueError("RabbitClient needs at least one node address")
        self.at, self.timeout = process % len(self.order), timeout
        self.transient = context is not None and TRANSIENT in context.flags
        self.conn: amqp.Connection | None = None
        self.channel: Any = None

    @property
    def node(self) -> str:
        """The broker this worker talks to now (``process % n`` first, the next after a lost connection)."""
        return self.order[self.at]

    def _open(self, node: str) -> None:
        """Connect to ``node`` and declare the queue; raises ``OSError`` / ``amqp`` errors (nothing sent)."""
        addr = self.addrs[node]
        conn = amqp.Connection(
            f"{addr.host}:{addr.port}",
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            write_timeout=self.timeout,
            confirm_publish=True,
        )
        try:
            conn.connect()
            channel = conn.channel()
            if self.transient:
                channel.queue_declare(QUEUE, durable=False, auto_delete=False)
            else:
                quorum = {"x-queue-type": "quorum"}
                channel.queue_declare(QUEUE, durable=True, auto_delete=False, arguments=quorum)
        except BaseException:
            _close(conn)
            raise
        self.conn, self.channel = conn, channel

    def close(self) -> None:
        if self.conn is not None:
            _close(self.conn)
        self.conn = self.channel = None

    def _move(self) -> None:
        self.close()
        self.at = (self.at + 1) % len(self.order)

    def invoke(self, f: str, value: Any) -> Completion:
        if f == "send":
            return self._send(value)
        if f == "read-effects":
            return self._drain()
        if f == "read-deliveries":
            return Completion("fail", error="RabbitMQ keeps no delivery trail")
        return Completion("fail", error=f"unsupported op {f!r}")

    def _send(self, value: Any) -> Completion:
        node = self.node
        if self.conn is None:
            try:
                self._open(node)
            except (OSError, amqp.exceptions.AMQPError) as e:
                self._move()
                return Completion("fail", error=f"connect/declare: {_text(e)}", node=node)
        body = json.dumps(value, sort_keys=True)
        msg = amqp.basic_message.Message(
            body, message_id=str(value.get("msg")), delivery_mode=1 if self.transient else 2
        )
        try:
            self.channel.basic_publish(msg, exchange="", routing_key=QUEUE, confirm_timeout=self.timeout)
        except amqp.exceptions.MessageNacked as e:
            self._move()
            return Completion("info", error=f"nacked: {_text(e)}", node=node)
        except (OSError, amqp.exceptions.AMQPError) as e:
            self._move()
            return Completion("info", error=f"publish: {_text(e)}", node=node)
        return Completion("ok", value, node=node)

    def _drain(self) -> Completion:
        """Fetch every message left, from the first node that answers (the next, on a lost connection)."""
        effects: list[dict[str, Any]] = []
        errors: list[str] = []
        deadline = time.monotonic() + max(30.0, 10 * self.timeout)
        tries = 0
        while time.monotonic() < deadline:
            node = self.node
            tries += 1
            try:
                if self.conn is None:
                    self._open(node)
                empty_twice = 0
                while empty_twice < 2:
                    m = self.channel.basic_get(QUEUE, no_ack=False)
                    if m is None:
                        empty_twice += 1
                        time.sleep(0.5)
                        continue
                    empty_twice = 0
                    effect = _effect(m.body, node, bool(m.delivery_info.get("redelivered")))
                    effects.append(effect)
                    self.channel.basic_ack(m.delivery_tag)
                self.close()
                return Completion("ok", effects, node=node)
            except (OSError, amqp.exceptions.AMQPError) as e:
                errors.append(f"{node}: {_text(e)}")
                self._move()
                time.sleep(0.5)
        return Completion("fail", error=f"drain failed after {tries} tries: {'; '.join(errors[-3:])}")


def _effect(body: Any, node: str, redelivered: bool) -> dict[str, Any]:
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    try:
        sent = json.loads(text)
    except ValueError:
        sent = {"msg": text}
    out = dict(sent) if isinstance(sent, dict) else {"msg": text}
    out.update(node=node, redelivered=redelivered)
    return out


def _text(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e)[:160]}"


def _close(conn: amqp.Connection) -> None:
    """Drop the connection without a closing handshake: the broker may be dead, paused or cut off."""
    if getattr(conn, "_transport", None) is None:
        return
    try:
        conn.collect()
    except Exception:  # noqa: BLE001 - closing a broken connection must not fail the op
        pass

