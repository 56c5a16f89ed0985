"""Target 2: a durable queue with a consumer group applying effects exactly-once to a ledger sink.

Nodes (each ``python3 -m chaos_targets.queue.node --role ...``, standard library only): one ``broker`` with an
fsync'd log and at-least-once delivery under leases, consumers ``c1..cN`` that apply each message's effect to
the ``sink`` (a ledger keeping every effect with its message id, the idempotency key) and then acknowledge.
The harness side is ``target.py`` (topology and argv), ``client.py`` (producer and final reads) and
``workload.py`` (what workers send). See ``docs/targets/queue.md``.
"""
