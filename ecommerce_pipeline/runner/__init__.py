"""Running the medallion job from this process (the command line, the benchmark, tests).

It sits above ``definitions.py``: the runner imports the definitions, the definitions never import the
runner, so the data flows one way from ``defs`` to ``definitions`` to whatever runs them.
"""
