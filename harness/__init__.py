"""chaos-harness: fault-injection testing of distributed systems.

The story of one run (see README, "Architecture"): experiment file -> validated Experiment -> cluster up ->
Toxiproxy mesh up -> workers + fault schedule append to one History -> heal / final phase -> cluster down ->
checkers read the History -> results saved -> report rendered from the saved bundle.
"""

__version__ = "0.2.0"
