"""events_clean: click-stream events deduplicated by event id and ordered within their sessions.

The click stream is the largest table by far. The work is done on a narrow projection (keys,
timestamps, positions) and the wide columns are only ever handled a slice at a time: the input is
read from any ``TableSource`` (an Arrow table, or the lake's partitions read lazily) and the output
is assembled where it is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.transforms.sql import arrow, connect


class TableSource(Protocol):
    """A table read a few columns at a time, or whole a batch at a time, in a stable row order."""

    schema: pa.Schema

    def columns(self, names: list[str]) -> pa.Table: ...

    def batches(self, rows: int, names: list[str]) -> Iterator[pa.RecordBatch]: ...


@dataclass
class InMemory:
    """An Arrow table as a ``TableSource``."""

    table: pa.Table

    @property
    def schema(self) -> pa.Schema:
        return self.table.schema

    def columns(self, names: list[str]) -> pa.Table:
        return self.table.select(names)

    def batches(self, rows: int, names: list[str]) -> Iterator[pa.RecordBatch]:
        yield from self.table.select(names).to_batches(max_chunksize=rows)


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

    The duplicates removed, the event sequence and the defaulted columns are computed once on narrow
    columns; the output is assembled only where it is used: a few columns for the checks
    (``columns``), all of them slice by slice for storage (``stream``).
    """

    events: TableSource  # the bronze rows
    narrow: pa.Table  # their key columns, read once
    keep: np.ndarray  # which of them are kept
    event_seq: np.ndarray
    device_type: pa.ChunkedArray
    country: pa.ChunkedArray
    duplicates: int

    @property
    def num_rows(self) -> int:
        return int(self.keep.sum())

    @property
    def sessions(self) -> int:
        """Every session has exactly one first event."""
        return int(np.count_nonzero(self.event_seq[self.keep] == 1))

    def _derived(self, start: int, length: int) -> dict[str, pa.Array | pa.ChunkedArray]:
        return {
            "event_seq": pa.array(self.event_seq[start : start + length]),
            "device_type": self.device_type.slice(start, length),
            "country": self.country.slice(start, length),
        }

    def _kept(self, part: pa.Table, start: int) -> pa.Table:
        keep = self.keep[start : start + part.num_rows]
        return part if keep.all() else part.filter(pa.array(keep))

    @property
    def schema(self) -> pa.Schema:
        derived = self._derived(0, 0)
        return pa.schema(
            [pa.field(n, derived[n].type) if n in derived else self.events.schema.field(n) for n in OUTPUT_COLUMNS]
        )

    def _at_hand(self, start: int, length: int) -> dict[str, pa.Array | pa.ChunkedArray]:
        """Output columns that need no reading: the derived ones and the key columns read once."""
        keys = {n: self.narrow.column(n).slice(start, length) for n in KEY_COLUMNS}
        return keys | self._derived(start, length)

    def columns(self, names: list[str]) -> pa.Table:
        """The cleaned table restricted to ``names``."""
        at_hand = self._at_hand(0, len(self.keep))
        read = self.events.columns([n for n in names if n not in at_hand])
        return self._kept(pa.table({n: at_hand[n] if n in at_hand else read.column(n) for n in names}), 0)

    @property
    def table(self) -> pa.Table:
        return self.columns(OUTPUT_COLUMNS)

    def _slices(self) -> Iterator[pa.Table]:
        schema, start = self.schema, 0
        to_read = [n for n in OUTPUT_COLUMNS if n not in self._at_hand(0, 0)]
        for batch in self.events.batches(BATCH_ROWS, to_read):
            at_hand = self._at_hand(start, batch.num_rows)
            part = pa.table({n: at_hand[n] if n in at_hand else batch.column(n) for n in OUTPUT_COLUMNS})
            yield self._kept(part, start).cast(schema)
            start += batch.num_rows

    def head(self, rows: int) -> pa.Table:
        found: list[pa.Table] = []
        for part in self._slices():
            found.append(part)
            if sum(p.num_rows for p in found) >= rows:
                break
        return pa.concat_tables(found).slice(0, rows) if found else self.schema.empty_table()

    def stream(self) -> pa.RecordBatchReader:
        """Every output column, a slice at a time: the whole table is never in memory."""
        return pa.RecordBatchReader.from_batches(
            self.schema, (batch for part in self._slices() for batch in part.to_batches())
        )


def _default(column: pa.ChunkedArray, default: str, lower: bool = False) -> pa.ChunkedArray:
    """Trimmed (and lower-cased) values, ``default`` where missing or blank, as a dictionary column: worked
    out once per distinct value (a handful of devices and countries), never copied out per row."""
    chunks = []
    for chunk in column.dictionary_encode().chunks:
        values = pc.utf8_trim_whitespace(chunk.dictionary)
        if lower:
            values = pc.utf8_lower(values)
        values = pc.fill_null(pc.if_else(pc.equal(values, ""), None, values), default)
        values = pa.concat_arrays([values, pa.array([default], pa.string())])  # where the row is null
        chunks.append(pa.DictionaryArray.from_arrays(pc.fill_null(chunk.indices, len(values) - 1), values))
    return pa.chunked_array(chunks, pa.dictionary(pa.int32(), pa.string()))


def events_clean(events: pa.Table | TableSource) -> EventsResult:
    source = InMemory(events) if isinstance(events, pa.Table) else events
    narrow = source.columns([*KEY_COLUMNS, "device_type", "country"])
    rows = narrow.num_rows
    keys = narrow.select(KEY_COLUMNS)
    positioned = keys.append_column("pos", pa.array(np.arange(rows, dtype=np.int64)))
    con = connect()
    con.register("narrow", positioned)
    dropped = np.zeros(rows, dtype=bool)
    dropped[arrow(con, DUPLICATES_SQL).column("pos").to_numpy()] = True
    con.register("narrow", positioned.append_column("dropped", pa.array(dropped)))
    sequence = arrow(con, SEQUENCE_SQL)
    con.close()

    event_seq = np.zeros(rows, dtype=np.int32)
    event_seq[sequence.column("pos").to_numpy()] = sequence.column("event_seq").to_numpy()
    return EventsResult(
        events=source,
        narrow=keys,
        keep=~dropped,
        event_seq=event_seq,
        device_type=_default(narrow["device_type"], "unknown", lower=True),
        country=_default(narrow["country"], "unknown"),
        duplicates=int(dropped.sum()),
    )
