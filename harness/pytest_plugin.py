"""pytest plugin (entry point ``pytest11: chaos``): collects experiment YAML files as test items.

Filled in by the experiments work (issue 6); until then it registers nothing.
"""
