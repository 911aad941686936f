"""The daily business-day partitions every asset shares, and the history window of as-of tables."""

from datetime import date

import dagster as dg

from ecommerce_pipeline.settings import load_settings

# Today's partition exists so files landing during the day can be processed at once.
daily_partitions = dg.DailyPartitionsDefinition(start_date=load_settings().start_date, end_offset=1)


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The business days a run covers: one for a daily run, many for a single-run backfill."""
    return [date.fromisoformat(key) for key in context.partition_keys]


# Dates rewritten and committed at once when a run restates many (a long backfill, a backdated correction).
CHUNK_DATES = 14


def date_chunks(dates: set[date]) -> list[list[date]]:
    """The dates in order, a few weeks at a time (one empty chunk when there are none)."""
    ordered = sorted(dates)
    return [ordered[i : i + CHUNK_DATES] for i in range(0, len(ordered), CHUNK_DATES)] or [[]]
