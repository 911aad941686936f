"""The daily business-day partitions every asset shares, and the history window of as-of tables."""

from datetime import date

import dagster as dg

from ecommerce_pipeline.settings import load_settings

# Today's partition exists so files landing during the day can be processed at once.
daily_partitions = dg.DailyPartitionsDefinition(start_date=load_settings().start_date, end_offset=1)


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The business days a run covers: one for a daily run, many for a single-run backfill."""
    return [date.fromisoformat(key) for key in context.partition_keys]


# Dates rewritten and committed at once when a run restates many (a long backfill, a backdated correction):
# a few weeks, or, when the input's rows per date are known, as many dates as hold CHUNK_ROWS input rows.
CHUNK_DATES = 14
CHUNK_ROWS = 500_000


def date_chunks(dates: set[date], rows: dict[date, int] | None = None) -> list[list[date]]:
    """The dates in order, a chunk at a time (one empty chunk when there are none). With ``rows`` (the input
    rows of each date), consecutive dates go together while their rows stay within ``CHUNK_ROWS`` (a date
    above it is a chunk alone): a year of a small store is restated in one commit, not 26, and no chunk of a
    large store holds more than ``CHUNK_ROWS`` input rows, or one date. Without, ``CHUNK_DATES`` dates."""
    ordered = sorted(dates)
    if rows is None:
        return [ordered[i : i + CHUNK_DATES] for i in range(0, len(ordered), CHUNK_DATES)] or [[]]
    chunks, held = [], 0
    for day in ordered:
        n = rows.get(day, 0)
        if not chunks or held + n > CHUNK_ROWS:
            chunks.append([])
            held = 0
        chunks[-1].append(day)
        held += n
    return chunks or [[]]
