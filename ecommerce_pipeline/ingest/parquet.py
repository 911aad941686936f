"""Parquet: typed columns turned into the text a CSV export would hold (integers as decimal digits)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from ecommerce_pipeline.ingest.records import ParsedFile, numbered, stringify


def read_parquet(name: str, data: bytes) -> ParsedFile:
    table = pq.read_table(io.BytesIO(data))
    records = pa.table({n: stringify(table.column(n)) for n in table.column_names})
    return numbered(name, records)
