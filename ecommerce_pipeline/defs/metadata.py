"""Materialization and check metadata: row counts, column schema, a masked preview, plottable numbers."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.quality.columns import describe
from ecommerce_pipeline.quality.conservation import ConservationOutcome
from ecommerce_pipeline.quality.schemas import SchemaOutcome

PII_COLUMNS = frozenset(c for e in ENTITIES.values() for c in e.pii_columns) | {"raw_record"}
PREVIEW_ROWS = 5
MASK = "***"


def column_schema(schema: pa.Schema, table: str | None = None) -> dg.TableSchema:
    """Columns, types and, for silver and gold tables, what each column means."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(f.name, str(f.type), description=describe(table, f.name) if table else None) for f in schema
        ]
    )


def masked_preview(table: pa.Table, rows: int = PREVIEW_ROWS) -> str:
    """A Markdown table of the first rows; personal data is masked so it never reaches the UI or logs."""
    head = table.slice(0, rows).to_pylist()
    if not head:
        return "_no rows_"
    names = table.column_names
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in head:
        cells = [
            MASK if n in PII_COLUMNS and row[n] is not None else str(row[n]).replace("|", "\\|")[:60] for n in names
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table_metadata(
    table: pa.Table, row_count: int | None = None, described_as: str | None = None, **numbers: float | int | None
) -> dict[str, object]:
    """Row count, column schema (with the columns' descriptions of the table ``described_as``), a masked
    preview and plottable numbers. For a streamed table, ``table`` is its first rows and ``row_count`` its size."""
    metadata: dict[str, object] = {
        "dagster/row_count": table.num_rows if row_count is None else row_count,
        "dagster/column_schema": column_schema(table.schema, described_as),
        "preview": dg.MetadataValue.md(masked_preview(table)),
    }
    for name, value in numbers.items():
        if value is not None:
            metadata[name] = (
                dg.MetadataValue.float(float(value)) if isinstance(value, float) else dg.MetadataValue.int(int(value))
            )
    return metadata


def numbers_metadata(**numbers: float | int | None) -> dict[str, object]:
    return {
        name: dg.MetadataValue.float(float(value)) if isinstance(value, float) else dg.MetadataValue.int(int(value))
        for name, value in numbers.items()
        if value is not None
    }


def describe_partitions(context: dg.AssetExecutionContext, key: dg.AssetKey, per_day: dict) -> None:
    """Give each partition of the run its own figures (``per_day``: day -> {name: number}): a single-run
    backfill then shows every day's own rows and revenue, and the UI plots them across days."""
    for partition in context.partition_keys:
        numbers = per_day.get(date.fromisoformat(partition), {})
        context.add_asset_metadata(numbers_metadata(**numbers), asset_key=key, partition_key=partition)


def day_figures(table: pa.Table, date_column: str, sums: dict[str, str], days) -> dict:
    """Per day of ``days``: the rows dated that day and the sums of some columns (name -> column)."""
    figures = {}
    for day in days:
        rows = table.filter(pc.equal(table.column(date_column), pa.scalar(day, pa.date32())))
        figures[day] = {"dagster/row_count": rows.num_rows} | {
            name: column_sum(rows, column) for name, column in sums.items()
        }
    return figures


def column_sum(table: pa.Table, column: str) -> float:
    return float(pc.sum(table.column(column)).as_py() or 0.0)


def rule_counts(quarantine: pa.Table) -> dict[str, int]:
    if quarantine.num_rows == 0:
        return {}
    grouped = quarantine.group_by("rule").aggregate([("rule", "count")])
    return dict(zip(grouped.column("rule").to_pylist(), grouped.column("rule_count").to_pylist()))


def schema_check_result(asset_key: dg.AssetKey, outcome: SchemaOutcome) -> dg.AssetCheckResult:
    metadata: dict[str, object] = {"rows_checked": outcome.rows_checked, "failing_rows": outcome.failing_rows}
    if outcome.failures:
        metadata["failures"] = dg.MetadataValue.md("\n".join(f"- {f}" for f in outcome.failures))
    if outcome.sample is not None:
        metadata["failing_rows_sample"] = dg.MetadataValue.md(
            masked_preview(pa.Table.from_pandas(outcome.sample, preserve_index=False))
        )
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name="schema",
        passed=outcome.passed,
        metadata=metadata,
        severity=dg.AssetCheckSeverity.ERROR,
    )


def conservation_check_result(
    asset_key: dg.AssetKey, outcome: ConservationOutcome, name: str = "row_conservation"
) -> dg.AssetCheckResult:
    metadata: dict[str, object] = {**outcome.counts, "unaccounted_rows": outcome.expected - outcome.accounted}
    if outcome.problems:
        metadata["problems"] = dg.MetadataValue.md("\n".join(f"- {p}" for p in outcome.problems[:20]))
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=outcome.passed,
        metadata=metadata,
        severity=dg.AssetCheckSeverity.ERROR,
    )
