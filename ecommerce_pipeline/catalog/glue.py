"""Registering lake tables in the Glue Data Catalog, so Athena (and Spark, Redshift Spectrum) can query them.

Each lake table ``<layer>/<name>`` becomes the Glue table ``<layer>_<name>``, partitioned by ``year``,
``month`` and ``day`` (strings, as in the object keys). Schema changes must be additive: existing
columns keep their position and type and new columns are appended at the end. Every partition written is
given the table's full column list, so a partition written before a column was added still lists a prefix
of the table's columns with the same types, which is what keeps Athena clear of
HIVE_PARTITION_SCHEMA_MISMATCH (Parquet columns are then matched by name, missing ones read as null).

awswrangler's catalog functions create the database, create or evolve the table (``mode="append"``: new
columns appended, a changed type refused) and add the partitions. What they lack stays here: the location
guard, and bringing an existing partition's column list or location in line with the table (awswrangler
adds partitions but leaves existing ones as they are).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from ecommerce_pipeline.storage.aws import session as aws_session
from ecommerce_pipeline.storage.aws import wrangler

if TYPE_CHECKING:
    import boto3

PARTITION_TYPES = {"year": "string", "month": "string", "day": "string"}
# What the old hand-written definitions carried besides awswrangler's own parameters (classification etc.).
TABLE_PARAMETERS = {"EXTERNAL": "TRUE", "parquet.compression": "SNAPPY"}


class SchemaChangeError(ValueError):
    """A change Glue and Athena cannot absorb without rewriting history (a column changed type)."""


class LocationMismatchError(ValueError):
    """The Glue table already exists but points elsewhere: registering would hide or mix data."""


def glue_table_name(table: str) -> str:
    """``silver/orders_validated`` -> ``silver_orders_validated``."""
    return table.replace("/", "_").lower()


def partition_values(day: date) -> list[str]:
    return [f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"]


def partition_filter(days: list[date]) -> str:
    """A predicate on the partition keys only, so Athena reads just the days asked for."""
    return " OR ".join(
        "(year = '{}' AND month = '{}' AND day = '{}')".format(*partition_values(day)) for day in sorted(days)
    )


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
        self.session = boto3_session or aws_session()
        self.glue = self.session.client("glue")

    def ensure_database(self) -> None:
        wrangler().catalog.create_database(self.database, exist_ok=True, boto3_session=self.session)

    def register(self, table: str, location: str, columns: dict[str, str], partitions: dict[date, str]) -> Registration:
        """Create or update ``table`` at ``location`` with ``columns`` (name -> Athena type), and its partitions."""
        name = glue_table_name(table)
        for day, where in partitions.items():
            if not where.startswith(location):
                raise LocationMismatchError(f"partition {day} of {name} at {where} is outside the table's {location}")
        self.ensure_database()
        known = wrangler().catalog.get_table_types(self.database, name, boto3_session=self.session)
        if known is not None:
            existing_location = wrangler().catalog.get_table_location(self.database, name, boto3_session=self.session)
            if existing_location.rstrip("/") != location.rstrip("/"):
                raise LocationMismatchError(
                    f"Glue table {self.database}.{name} points at {existing_location}, not {location}; "
                    "refusing to repoint it (drop it or fix ECOM_*_URI)"
                )
        try:
            wrangler().catalog.create_parquet_table(
                self.database,
                name,
                location,
                columns,
                partitions_types=PARTITION_TYPES,
                compression="snappy",
                parameters=TABLE_PARAMETERS,
                mode="append",  # an existing table keeps its columns in order, new ones appended
                boto3_session=self.session,
            )
        except wrangler().exceptions.InvalidArgumentValue as error:
            raise SchemaChangeError(
                f"{name}: {error}: Athena would fail on older partitions (HIVE_PARTITION_SCHEMA_MISMATCH); "
                "write it as a new column instead"
            ) from error
        before = {c: t for c, t in (known or {}).items() if c not in PARTITION_TYPES}
        added = [c for c in columns if c not in before]
        merged = [{"Name": c, "Type": t} for c, t in {**before, **{c: columns[c] for c in added}}.items()]
        result = Registration(
            name, location, merged, created=known is None, columns_added=[] if known is None else added
        )
        self._register_partitions(result, partitions)
        return result

    def _register_partitions(self, result: Registration, partitions: dict[date, str]) -> None:
        existing = self._existing_partitions(result.table, sorted(partitions))
        new = {partitions[d]: partition_values(d) for d in sorted(partitions) if d not in existing}
        wrangler().catalog.add_parquet_partitions(
            self.database,
            result.table,
            new,
            compression="snappy",
            columns_types={c["Name"]: c["Type"] for c in result.columns},
            boto3_session=self.session,
        )
        result.partitions_added += ["-".join(values) for values in new.values()]
        for day, old in sorted(existing.items()):
            storage = old["StorageDescriptor"]
            if storage.get("Columns") == result.columns and storage.get("Location", "").rstrip("/") == partitions[
                day
            ].rstrip("/"):
                continue
            # awswrangler only adds partitions: one written before a column was added (or moved) is updated here.
            self.glue.update_partition(
                DatabaseName=self.database,
                TableName=result.table,
                PartitionValueList=old["Values"],
                PartitionInput={
                    "Values": old["Values"],
                    "StorageDescriptor": {**storage, "Columns": result.columns, "Location": partitions[day]},
                },
            )
            result.partitions_updated.append(day.isoformat())

    def _existing_partitions(self, table: str, days: list[date]) -> dict[date, dict]:
        """The partitions of ``days`` already registered, with their columns (awswrangler's getters give only
        their locations)."""
        found = {}
        for start in range(0, len(days), 100):  # the batch API takes at most 100 partitions
            chunk = {tuple(partition_values(d)): d for d in days[start : start + 100]}
            answer = self.glue.batch_get_partition(
                DatabaseName=self.database,
                TableName=table,
                PartitionsToGet=[{"Values": list(values)} for values in chunk],
            )
            found |= {chunk[tuple(p["Values"])]: p for p in answer["Partitions"]}
        return found

    def table(self, table: str) -> dict:
        return self.glue.get_table(DatabaseName=self.database, Name=glue_table_name(table))["Table"]

    def partitions(self, table: str) -> list[dict]:
        pages = self.glue.get_paginator("get_partitions").paginate(
            DatabaseName=self.database, TableName=glue_table_name(table)
        )
        return [p for page in pages for p in page["Partitions"]]
