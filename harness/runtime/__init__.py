"""What runs while a run runs: the workers that record every client call, the nemesis that plays the seeded
fault schedule (and its watch for outages nobody scheduled).

This floor sits above the experiment, its schedule and the cluster it drives, and below the runner
(``harness/run.py``), which scopes a run around it. Nothing below imports from here.
"""
