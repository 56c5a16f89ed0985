"""Pieces shared by the bundled targets' node services and their harness-side adapters.

``jsonlines``, ``nodeargs``, ``wire`` (the line protocol), ``journal`` (the fsync'd append-only journal) and
``service`` (``JournaledService``: the queue's broker and sink and the lock's resource) run inside the target
image (standard library only, never ``harness``); ``adapter`` is harness-side only (it imports ``harness``)
and no node module may import it.
"""
