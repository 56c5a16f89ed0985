"""Target 3: a replicated lock service with leases and fencing tokens, and the resource it protects.

Nodes ``n1..nN`` (``python3 -m chaos_targets.lock.node --role lock``) replicate ``LockMachine`` over the
shared Raft core (``targets/raft``); ``resource`` (``--role resource``) accepts a write only with a token not
lower than the highest it has accepted and journals every accepted write. The harness side is ``target.py``,
``client.py`` and ``workload.py``. See ``docs/targets/lock.md``.
"""
