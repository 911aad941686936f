"""Writing a landing table as CSV, JSON lines or Parquet."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ecommerce_pipeline.transforms.sql import literal

FILE_FORMATS = ("csv", "jsonl", "parquet")  # also the files' extensions


def _write_csv(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(table, path)


def _write_jsonl(table: pa.Table, path: Path) -> None:
    con = duckdb.connect()
    try:
        con.register("day_table", table)
        con.execute(f"COPY day_table TO {literal(str(path))} (FORMAT JSON)")
    finally:
        con.close()


def _write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="snappy")


WRITERS = {"csv": _write_csv, "jsonl": _write_jsonl, "parquet": _write_parquet}
