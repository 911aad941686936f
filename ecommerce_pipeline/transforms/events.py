"""events_clean: click-stream events deduplicated by event id and ordered within their sessions.

The click stream is the largest table by far, so the work is done on a narrow projection (keys,
timestamps, positions) and applied to the wide table with one Arrow filter, instead of carrying
every column through a window or a sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.transforms.sql import arrow, connect

KEY_COLUMNS = ["business_date", "event_id", "session_id", "event_ts", "_source_file", "_source_row"]

# Of several rows with the same event id on a day, the first one landed is kept.
DUPLICATES_SQL = """
SELECT pos FROM narrow
SEMI JOIN (SELECT business_date, event_id FROM narrow GROUP BY ALL HAVING count(*) > 1) USING (business_date, event_id)
QUALIFY row_number() OVER (PARTITION BY business_date, event_id ORDER BY _source_file, _source_row) > 1
"""

SEQUENCE_SQL = """
SELECT pos, row_number() OVER (PARTITION BY business_date, session_id ORDER BY event_ts, event_id)::INTEGER AS event_seq
FROM narrow WHERE NOT dropped
"""

OUTPUT_COLUMNS = [
    "business_date", "event_id", "session_id", "event_seq", "event_type", "event_ts", "customer_id", "product_id",
    "page_url", "referrer_url", "device_type", "country", "_source_file", "_source_row", "_batch_id",
]  # fmt: skip


@dataclass
class EventsResult:
    table: pa.Table
    duplicates: int


def _default(column: pa.ChunkedArray, default: str, lower: bool = False) -> pa.ChunkedArray:
    values = pc.utf8_trim_whitespace(column)
    if lower:
        values = pc.utf8_lower(values)
    return pc.fill_null(pc.if_else(pc.equal(values, ""), None, values), default)


def events_clean(events: pa.Table) -> EventsResult:
    positions = np.arange(events.num_rows, dtype=np.int64)
    narrow = events.select(KEY_COLUMNS).append_column("pos", pa.array(positions))
    con = connect()
    con.register("narrow", narrow)
    dropped_positions = arrow(con, DUPLICATES_SQL).column("pos").to_numpy()
    dropped = np.zeros(events.num_rows, dtype=bool)
    dropped[dropped_positions] = True
    con.register("narrow", narrow.append_column("dropped", pa.array(dropped)))
    sequence = arrow(con, SEQUENCE_SQL)
    con.close()

    event_seq = np.zeros(events.num_rows, dtype=np.int32)
    event_seq[sequence.column("pos").to_numpy()] = sequence.column("event_seq").to_numpy()
    kept = events.append_column("event_seq", pa.array(event_seq))
    if dropped.any():
        kept = kept.filter(pa.array(~dropped))
    kept = kept.set_column(
        kept.column_names.index("device_type"), "device_type", _default(kept["device_type"], "unknown", lower=True)
    )
    kept = kept.set_column(kept.column_names.index("country"), "country", _default(kept["country"], "unknown"))
    return EventsResult(kept.select(OUTPUT_COLUMNS), int(dropped.sum()))
