"""Fault kinds, each a small class registered in the ``chaos_harness.faults`` entry-point group.

``base`` holds the ``FaultKind`` protocol every kind implements (validate its step parameters against the
cluster's nodes, draw random parameters from the schedule's seeded source, start / stop it on a live cluster,
offer smaller variants for shrinking), the optional declarations read with defaults (``parameters``,
``random_parameters``, ``effect``, ``description``), the ``Kind`` base class deriving the rest from them,
and ``FaultContext``; ``params`` the typed ``Param`` declaration (its schema fragment and checks); ``event``
the ``FaultEvent`` record (one fault as data: an experiment's step, a schedule's entry). ``partition``,
``link`` and ``packet`` act through ``cluster.net``; ``process`` (kill / restart / pause) through the
cluster's process controls. This package is the fault vocabulary: it sits below the experiment, the schedule
and the runtime, and imports none of them.
"""
