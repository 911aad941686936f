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


# Rows assembled at a time when the cleaned table is streamed to storage.
BATCH_ROWS = 1 << 19


@dataclass
class EventsResult:
    """The cleaned click stream, described by the bronze rows it keeps rather than copied out of them.

    The click stream is the largest table by far: the duplicates removed, the event sequence and the
    defaulted columns are computed once, and the output columns are assembled only where they are
    used: a few for the checks (``columns``), all of them slice by slice for storage (``stream``).
    """

    events: pa.Table  # the bronze rows
    keep: np.ndarray  # which of them are kept
    event_seq: np.ndarray
    device_type: pa.ChunkedArray
    country: pa.ChunkedArray
    duplicates: int

    @property
    def num_rows(self) -> int:
        return int(self.keep.sum())

    @property
    def schema(self) -> pa.Schema:
        return self._assemble(0, 0, OUTPUT_COLUMNS).schema

    def _assemble(self, start: int, length: int, names: list[str]) -> pa.Table:
        derived = {"event_seq": pa.array(self.event_seq[start : start + length]),
                   "device_type": self.device_type.slice(start, length), "country": self.country.slice(start, length)}  # fmt: skip
        part = pa.table({n: derived[n] if n in derived else self.events.column(n).slice(start, length) for n in names})
        keep = self.keep[start : start + length]
        return part if keep.all() else part.filter(pa.array(keep))

    def columns(self, names: list[str]) -> pa.Table:
        """The cleaned table restricted to ``names``."""
        return self._assemble(0, len(self.keep), names)

    @property
    def table(self) -> pa.Table:
        return self.columns(OUTPUT_COLUMNS)

    def head(self, rows: int) -> pa.Table:
        found = []
        for batch in self.stream():
            found.append(batch)
            if sum(b.num_rows for b in found) >= rows:
                break
        return pa.Table.from_batches(found, self.schema).slice(0, rows)

    def stream(self) -> pa.RecordBatchReader:
        """Every output column, a slice at a time: the whole cleaned table is never in memory."""

        def batches():
            for start in range(0, len(self.keep), BATCH_ROWS):
                yield from self._assemble(start, BATCH_ROWS, OUTPUT_COLUMNS).to_batches()

        return pa.RecordBatchReader.from_batches(self.schema, batches())


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
    return EventsResult(
        events=events,
        keep=~dropped,
        event_seq=event_seq,
        device_type=_default(events["device_type"], "unknown", lower=True),
        country=_default(events["country"], "unknown"),
        duplicates=int(dropped.sum()),
    )
