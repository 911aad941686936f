"""Dagster wiring, one folder per layer.

Two features we rely on are marked beta in Dagster 1.13: ``backfill_policy`` (single-run backfills)
and ``allow_nonexistent_upstream_partitions`` (history windows that start at the first partition).
We use them deliberately, so their beta notices are silenced here; deprecations are never silenced.
"""

import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.BetaWarning)
