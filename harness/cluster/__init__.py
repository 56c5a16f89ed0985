"""Cluster backends: ``base`` (the backend, capability and cluster protocols; the capability registration),
``backends`` (the backends registered in the entry-point group ``chaos_harness.backends``, and ``auto``),
``local`` (subprocesses on 127.0.0.1), ``docker`` (containers on a per-run internal network; the only module
importing the docker SDK), ``rundir`` (per-run state under ``.chaos/runs/<run-id>/``, which ``chaos clean``
reads) and ``image`` (the target image's build context and content hash).
"""
