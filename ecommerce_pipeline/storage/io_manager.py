"""Dagster IO managers that store every asset as a daily-partitioned table in a ``Lake``.

Outputs are Arrow tables, or Arrow record batch streams for tables too large to hold twice, carrying a
``business_date`` column; a run that covers several partitions (a single-run backfill) returns one
table or stream and each day is written to its own partition. Inputs that
span several partitions (a history window) are read back as one table, pruned to the columns the
consuming asset asked for in its ``AssetIn`` metadata.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import pyarrow as pa
from pydantic import PrivateAttr

from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.lake import Lake, LocalLake, MemoryLake, PartitionScan, split_by_day


def only_columns(names) -> dict:
    """``AssetIn`` metadata asking the lake IO managers to read only these columns."""
    return {"columns": list(names)}


def lazily() -> dict:
    """``AssetIn`` metadata asking for a ``PartitionScan`` instead of a table: the input is read as it is used."""
    return {"lazy": True}


def table_name(asset_key: dg.AssetKey) -> str:
    return "/".join(asset_key.path)


class LakeIOManager(dg.ConfigurableIOManager):
    """Base: subclasses say which ``Lake`` holds the tables."""

    def lake(self) -> Lake:
        raise NotImplementedError

    def handle_output(self, context: dg.OutputContext, obj: pa.Table | None) -> None:
        if obj is None:
            return
        days = [date.fromisoformat(k) for k in context.asset_partition_keys]
        lake, table = self.lake(), table_name(context.asset_key)
        if isinstance(obj, pa.RecordBatchReader):
            written = lake.write_batches(table, days, obj)
        else:
            written = [lake.write_partition(table, day, part) for day, part in split_by_day(obj, days).items()]
        total_bytes = sum(w.bytes for w in written)
        locations = [w.location for w in written]
        context.add_output_metadata(
            {
                "bytes_written": dg.MetadataValue.int(total_bytes),
                "location": dg.MetadataValue.path(locations[0] if len(locations) == 1 else lake.table_location(table)),
                "partitions_written": dg.MetadataValue.int(len(locations)),
            }
        )

    def load_input(self, context: dg.InputContext) -> pa.Table | PartitionScan:
        table = table_name(context.asset_key)
        metadata = context.definition_metadata or {}
        window = context.asset_partitions_time_window
        days = _days_in(window.start.date(), window.end.date())
        if metadata.get("lazy"):
            scan = PartitionScan(self.lake(), table, days)
            data = scan if scan.days else None
        else:
            data = self.lake().read_partitions(table, days, metadata.get("columns"))
        if data is None:
            raise FileNotFoundError(
                f"{table} has no materialized partition between {days[0]} and {days[-1]}; materialize it first"
            )
        return data


def _days_in(start: date, end_exclusive: date) -> list[date]:
    return [date.fromordinal(o) for o in range(start.toordinal(), end_exclusive.toordinal())]


class LocalParquetIOManager(LakeIOManager):
    """Snappy Parquet files under a local folder, in the Hive layout (year=/month=/day=)."""

    lake_dir: str | None = None

    def lake(self) -> Lake:
        return LocalLake(self.lake_dir or load_settings().lake_dir)


class InMemoryLakeIOManager(LakeIOManager):
    """Keeps tables in memory for the life of the process; for tests."""

    _lake: MemoryLake = PrivateAttr(default_factory=MemoryLake)

    def lake(self) -> Lake:
        return self._lake
