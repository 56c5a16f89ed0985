"""Workloads that fit any target whose client implements the right operations (not one bundled target).

``txn``: the transactional workloads ``list-append`` and ``rw-register`` for targets whose client
implements ``invoke("txn", micro_ops)``, checked by the checkers of the same names.
"""
