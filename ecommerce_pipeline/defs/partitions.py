"""The daily business-day partitions every asset shares, and the history window of as-of tables."""

from datetime import date

import dagster as dg

from ecommerce_pipeline.settings import load_settings

# Today's partition exists so files landing during the day can be processed at once.
daily_partitions = dg.DailyPartitionsDefinition(start_date=load_settings().start_date, end_offset=1)


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The business days a run covers: one for a daily run, many for a single-run backfill."""
    return [date.fromisoformat(key) for key in context.partition_keys]
