"""Policies every lake asset shares."""

from datetime import timedelta

import dagster as dg

from ecommerce_pipeline.defs.partitions import daily_partitions

OWNERS = ["team:data-engineering"]

# The lake IO managers read and write partition ranges, so a backfill of many days is one run.
BACKFILL = dg.BackfillPolicy.single_run()

# Storage hiccups (a throttled bucket, a locked file) are retried with growing pauses.
STORAGE_RETRY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

# Gold tables are expected daily; a day and a half without a new materialization means a missed night.
GOLD_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=36))

# What every lake asset shares: the daily partitions, single-run backfills and storage retries.
DAILY_LAKE_STEP = dict(partitions_def=daily_partitions, backfill_policy=BACKFILL, retry_policy=STORAGE_RETRY)
