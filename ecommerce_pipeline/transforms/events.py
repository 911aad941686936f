"""events_clean: click-stream events deduplicated by event id and ordered within their sessions."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ecommerce_pipeline.transforms.sql import arrow, connect


@dataclass
class EventsResult:
    table: pa.Table
    duplicates: int


EVENTS_SQL = """
CREATE TEMP TABLE deduped AS
SELECT *, count(*) OVER (PARTITION BY business_date, event_id) - 1 AS superseded
FROM events
QUALIFY row_number() OVER (PARTITION BY business_date, event_id ORDER BY _source_file, _source_row) = 1
"""

CLEAN_SQL = """
SELECT business_date, event_id, session_id,
       row_number() OVER (PARTITION BY business_date, session_id ORDER BY event_ts, event_id)::INTEGER AS event_seq,
       event_type, event_ts, customer_id, product_id, page_url, referrer_url,
       coalesce(lower(trim(device_type)), 'unknown') AS device_type,
       coalesce(trim(country), 'unknown') AS country,
       _source_file, _source_row, _batch_id
FROM deduped
ORDER BY business_date, session_id, event_seq
"""


def events_clean(events: pa.Table) -> EventsResult:
    con = connect()
    con.register("events", events)
    con.execute(EVENTS_SQL)
    table = arrow(con, CLEAN_SQL)
    duplicates = con.execute("SELECT coalesce(sum(superseded), 0) FROM deduped").fetchone()[0]
    con.close()
    return EventsResult(table, int(duplicates))
