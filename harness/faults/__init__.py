"""Fault kinds, each a small class registered in the ``chaos_harness.faults`` entry-point group.

``base`` holds the ``FaultKind`` protocol every kind implements (validate its step parameters against the
cluster's nodes, draw random parameters from the schedule's seeded source, start / stop it on a live cluster,
offer smaller variants for shrinking) and ``FaultContext``; ``event`` the ``FaultEvent`` record (one fault as
data: an experiment's step, a schedule's entry). ``partition`` and ``link`` act through ``cluster.net``;
``process`` (kill / restart / pause) through the cluster's process controls. This package is the fault
vocabulary: it sits below the experiment, the schedule and the runtime, and imports none of them.
"""
