"""Which business dates a landing day's run restated, kept so the next step (and a re-run) knows.

``silver/restatements`` holds one row per (landing day, table, business date): the dates of a table that
the run of a landing day rewrote. Gold rebuilds exactly the dates silver restated for the run's landing
days; a re-run of a landing day also revisits the dates its previous run touched, so a row that no longer
arrives is removed from them.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from pyiceberg.expressions import EqualTo

from ecommerce_pipeline.storage.tables import TableStore

LOG = "silver/restatements"
SCHEMA = pa.schema([("landing_date", pa.date32()), ("table_name", pa.string()), ("business_date", pa.date32())])


def record(store: TableStore, table: str, landing_days: list[date], dates: dict[date, set[date]]) -> None:
    """``dates``: landing day -> the business dates of ``table`` its run restated."""
    rows = [(day, table, d) for day in landing_days for d in sorted(dates.get(day, ()))]
    data = pa.table(
        {
            "landing_date": pa.array([r[0] for r in rows], pa.date32()),
            "table_name": pa.array([r[1] for r in rows], pa.string()),
            "business_date": pa.array([r[2] for r in rows], pa.date32()),
        },
        schema=SCHEMA,
    )
    store.restate(LOG, "landing_date", landing_days, data, also=EqualTo("table_name", table))


def footprint(rows: pa.Table, date_column: str, landing_column: str, landing_days: list[date]) -> dict[date, set[date]]:
    """Landing day (of ``landing_days``) -> the dates of its rows in ``rows``: worked out on the distinct
    pairs, never row by row in Python (a large day has millions of rows and a handful of pairs)."""
    pairs = rows.select([landing_column, date_column]).group_by([landing_column, date_column]).aggregate([])
    found: dict[date, set[date]] = {}
    for landing, d in zip(pairs.column(landing_column).to_pylist(), pairs.column(date_column).to_pylist()):
        if landing in landing_days:
            found.setdefault(landing, set()).add(d)
    return found


def restated(store: TableStore, table: str, landing_days: list[date]) -> set[date]:
    """The business dates of ``table`` that the runs of ``landing_days`` restated (last time they ran)."""
    log = store.read_dates(LOG, "landing_date", landing_days, ["table_name", "business_date"])
    if log is None or log.num_rows == 0:
        return set()
    mask = pa.compute.equal(log.column("table_name"), table)
    return set(log.filter(mask).column("business_date").to_pylist())
