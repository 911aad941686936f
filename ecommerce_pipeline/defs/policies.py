"""Policies every lake asset shares."""

from datetime import timedelta

import dagster as dg

OWNERS = ["team:data-engineering"]

# The lake IO managers read and write partition ranges, so a backfill of many days is one run.
BACKFILL = dg.BackfillPolicy.single_run()

# Storage hiccups (a throttled bucket, a locked file) are retried with growing pauses.
STORAGE_RETRY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

# Gold tables are expected daily; a day and a half without a new materialization means a missed night.
GOLD_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=36))
