"""Real systems declared as targets (``target.yaml`` + a client each): etcd, Redis and PostgreSQL.

Each is registered under ``chaos_harness.targets`` through ``harness.declare.declared_target``, exactly as a
user's own declaration in their own package would be; see ``docs/own-target.md``.
"""
