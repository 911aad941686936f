"""Operator tools: commands a person runs with their own credentials, never the pipeline itself.

``upload`` puts landing files into the landing bucket and ``local_aws`` starts a moto server standing in for
an account. The Dagster definitions never import this package, so the pipeline role needs none of the calls
made here (``test_infra.py`` checks both).
"""
