"""Transactional isolation checking (Elle's approach) for list-append and rw-register histories.

A history of ``f: "txn"`` ops (harness/checkers/txn/txns.py) is read once into indexed transactions. Per-key
analyses (``list_append``, ``rw_register``) infer each key's version order, report non-cycle anomalies found
directly on it (internal inconsistency, aborted / intermediate / garbage reads, duplicate elements,
incompatible orders, dirty and lost updates, future reads) and emit the write-write, write-read and read-write
dependencies. ``orders`` adds real-time and process order. ``graph`` holds the combined dependency graph and
the strongly connected components (iterative Tarjan); ``cycles`` searches each component for the shortest
cycle of each anomaly class within a step budget; each analysis's ``explain`` (and ``orders.explain_order``)
turns a witness's edges into sentences; ``anomaly`` holds the result records; ``models`` is the one table
of which consistency model forbids which anomaly. ``check`` puts them together into the ``list-append`` and
``rw-register`` checkers.
"""
