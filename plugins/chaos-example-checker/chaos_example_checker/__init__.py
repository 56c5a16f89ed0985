"""An example chaos-harness plugin: the ``counter`` checker (``counter.py``) and its report view
(``view.py``).

Nothing here is part of the harness: the package is installed beside it and found through its entry point
(``chaos_harness.checkers``: ``counter = "chaos_example_checker.counter:CHECKER"``).
"""
