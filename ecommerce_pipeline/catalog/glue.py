"""Registering lake tables in the Glue Data Catalog, so Athena (and Spark, Redshift Spectrum) can query them.

Each lake table ``<layer>/<name>`` becomes the Glue table ``<layer>_<name>``, partitioned by ``year``,
``month`` and ``day`` (strings, as in the object keys). Schema changes must be additive: existing
columns keep their position and type and new columns are appended at the end. Every partition written is
given the table's full column list, so a partition written before a column was added still lists a prefix
of the table's columns with the same types, which is what keeps Athena clear of
HIVE_PARTITION_SCHEMA_MISMATCH (Parquet columns are then matched by name, missing ones read as null).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import boto3

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARTITION_KEYS = [{"Name": name, "Type": "string"} for name in ("year", "month", "day")]


class SchemaChangeError(ValueError):
    """A change Glue and Athena cannot absorb without rewriting history (a column changed type)."""


class LocationMismatchError(ValueError):
    """The Glue table already exists but points elsewhere: registering would hide or mix data."""


def glue_table_name(table: str) -> str:
    """``silver/orders_validated`` -> ``silver_orders_validated``."""
    return table.replace("/", "_").lower()


def partition_values(day: date) -> list[str]:
    return [f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"]


def merge_columns(existing: list[dict], incoming: dict[str, str]) -> tuple[list[dict], list[str]]:
    """The table's columns after an additive change: old order kept, new columns appended at the end."""
    merged, added = [dict(c) for c in existing], []
    known = {c["Name"]: c["Type"] for c in existing}
    for name, type_ in incoming.items():
        if name not in known:
            merged.append({"Name": name, "Type": type_})
            added.append(name)
        elif known[name] != type_:
            raise SchemaChangeError(
                f"column {name!r} changed type from {known[name]} to {type_}: Athena would fail on older "
                "partitions (HIVE_PARTITION_SCHEMA_MISMATCH); write it as a new column instead"
            )
    return merged, added


@dataclass
class Registration:
    table: str
    location: str
    columns: list[dict]
    created: bool = False
    columns_added: list[str] = field(default_factory=list)
    partitions_added: list[str] = field(default_factory=list)
    partitions_updated: list[str] = field(default_factory=list)


class GlueCatalog:
    def __init__(self, database: str, boto3_session: boto3.Session | None = None):
        self.database = database
        self.glue = (boto3_session or boto3.Session()).client("glue")

    def ensure_database(self) -> None:
        try:
            self.glue.get_database(Name=self.database)
        except self.glue.exceptions.EntityNotFoundException:
            self.glue.create_database(DatabaseInput={"Name": self.database})

    def _storage(self, columns: list[dict], location: str) -> dict:
        return {
            "Columns": columns,
            "Location": location,
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "Compressed": True,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
        }

    def register(self, table: str, location: str, columns: dict[str, str], partitions: dict[date, str]) -> Registration:
        """Create or update ``table`` at ``location`` with ``columns`` (name -> Athena type), and its partitions."""
        name = glue_table_name(table)
        for day, where in partitions.items():
            if not where.startswith(location):
                raise LocationMismatchError(f"partition {day} of {name} at {where} is outside the table's {location}")
        self.ensure_database()
        try:
            current = self.glue.get_table(DatabaseName=self.database, Name=name)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            current = None
        if current is None:
            merged, added = merge_columns([], columns)
            self.glue.create_table(DatabaseName=self.database, TableInput=self._table_input(name, merged, location))
            result = Registration(name, location, merged, created=True)
        else:
            existing_location = current["StorageDescriptor"].get("Location", "")
            if existing_location.rstrip("/") != location.rstrip("/"):
                raise LocationMismatchError(
                    f"Glue table {self.database}.{name} points at {existing_location}, not {location}; "
                    "refusing to repoint it (drop it or fix ECOM_*_URI)"
                )
            merged, added = merge_columns(current["StorageDescriptor"]["Columns"], columns)
            if added:
                self.glue.update_table(DatabaseName=self.database, TableInput=self._table_input(name, merged, location))
            result = Registration(name, location, merged, columns_added=added)
        self._register_partitions(result, partitions)
        return result

    def _table_input(self, name: str, columns: list[dict], location: str) -> dict:
        return {
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "SNAPPY"},
            "PartitionKeys": PARTITION_KEYS,
            "StorageDescriptor": self._storage(columns, location),
        }

    def _register_partitions(self, result: Registration, partitions: dict[date, str]) -> None:
        days = sorted(partitions)
        for start in range(0, len(days), 100):  # the batch APIs take at most 100 partitions
            chunk = days[start : start + 100]
            found = self.glue.batch_get_partition(
                DatabaseName=self.database,
                TableName=result.table,
                PartitionsToGet=[{"Values": partition_values(d)} for d in chunk],
            )["Partitions"]
            existing = {tuple(p["Values"]): p for p in found}
            to_create = []
            for day in chunk:
                values = partition_values(day)
                storage = self._storage(result.columns, partitions[day])
                old = existing.get(tuple(values))
                if old is None:
                    to_create.append({"Values": values, "StorageDescriptor": storage})
                elif old["StorageDescriptor"].get("Columns") != storage["Columns"] or old["StorageDescriptor"].get(
                    "Location", ""
                ).rstrip("/") != partitions[day].rstrip("/"):
                    self.glue.update_partition(
                        DatabaseName=self.database,
                        TableName=result.table,
                        PartitionValueList=values,
                        PartitionInput={"Values": values, "StorageDescriptor": storage},
                    )
                    result.partitions_updated.append(day.isoformat())
            if to_create:
                response = self.glue.batch_create_partition(
                    DatabaseName=self.database, TableName=result.table, PartitionInputList=to_create
                )
                if response.get("Errors"):
                    raise RuntimeError(f"Glue refused partitions of {result.table}: {response['Errors']}")
                result.partitions_added += ["-".join(p["Values"]) for p in to_create]

    def table(self, table: str) -> dict:
        return self.glue.get_table(DatabaseName=self.database, Name=glue_table_name(table))["Table"]

    def partitions(self, table: str) -> list[dict]:
        pages = self.glue.get_paginator("get_partitions").paginate(
            DatabaseName=self.database, TableName=glue_table_name(table)
        )
        return [p for page in pages for p in page["Partitions"]]
