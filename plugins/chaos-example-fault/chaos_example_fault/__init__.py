"""An example chaos-harness fault-kind plugin: ``stutter`` (see ``stutter.py``), registered in the
``chaos_harness.faults`` entry-point group by this package's pyproject.toml."""
