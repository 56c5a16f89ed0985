"""What runs while a run runs: the interpreter (``interpreter.py``: workers + nemesis, heal, recovery, final
phase, the one place a run's concurrency lives), the workers that record every client call, the nemesis that
plays the seeded fault schedule or a fault loop (and its watch for outages nobody scheduled), and the clock
every wait goes through (injected, so tests run in simulated time).

This floor sits above the experiment, its schedule and the cluster it drives, and below the runner
(``harness/run.py``) and the pytest plugin, which scope a run around it. Nothing below imports from here.
"""
