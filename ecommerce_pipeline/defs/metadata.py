"""Materialization and check metadata: row counts, column schema, a masked preview, plottable numbers."""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.defs.partitions import partition_days
from ecommerce_pipeline.quality.columns import describe
from ecommerce_pipeline.quality.conservation import ConservationOutcome, stored_conservation
from ecommerce_pipeline.quality.schemas import SchemaOutcome

PII_COLUMNS = frozenset(c for e in ENTITIES.values() for c in e.pii_columns) | {"raw_record", "raw_value"}
PREVIEW_ROWS = 5
MASK = "***"


def first_few(items: list[str], limit: int = 10) -> str:
    """``a, b, c and 7 more``: a list short enough for a check's reason or an alert's line."""
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


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


def describe_partitions(
    context: dg.AssetExecutionContext, key: dg.AssetKey, per_day: dict, run: dict | None = None
) -> None:
    """Give each partition of the run its own figures (``per_day``: day -> {name: number or MetadataValue}): a
    single-run backfill then shows every day's own rows and revenue, and the UI plots them across days.

    ``run`` describes the whole run (the column schema, a preview, the run's totals): the run's last partition
    carries it, under that day's own figures. Dagster would copy an output's metadata onto every partition,
    which shows run totals as each day's and stored the same schema and preview 361 times in a year's run (a
    third of its time). The asset's latest materialization, which the UI's overview reads, is that last day."""
    partitions = context.partition_keys
    for partition in partitions:
        figures = per_day.get(date.fromisoformat(partition), {})
        numbers = {k: v for k, v in figures.items() if not isinstance(v, dg.MetadataValue)}
        shown = {k: v for k, v in figures.items() if isinstance(v, dg.MetadataValue)}
        own = numbers_metadata(**numbers) | shown
        if run and partition == partitions[-1]:
            own = dict(run) | own
        context.add_asset_metadata(own, asset_key=key, partition_key=partition)


def quarantine_output(context: dg.AssetExecutionContext, key: dg.AssetKey, output_name: str, table: pa.Table):
    """A quarantine table's output: each partition shows its own day's held-back rows by rule; the run's last
    partition also the table's columns, a masked preview and the run's rows by rule."""
    run = table_metadata(table) | {"rules": dg.MetadataValue.json(rule_counts(table))}
    describe_partitions(context, key, quarantine_day_figures(table, partition_days(context)), run)
    return dg.Output(table, output_name)


def check_partitions(context: dg.AssetExecutionContext, *checks: dict) -> None:
    """Record each partition's own evaluation of its checks (each of ``checks``: day -> AssetCheckResult of
    that day's rows). The check result a step yields belongs to the whole run, without a partition, however
    many days it covered; these events give every day of a single-run backfill its own pass or failure and
    figures.

    The local event log stores them in one transaction (a year's run evaluates thousands, and each alone was a
    commit to two databases); another instance's storage (PostgreSQL) stores them one by one."""
    together = getattr(context.instance.event_log_storage, "one_transaction", nullcontext)
    with together():
        for partition in context.partition_keys:
            for per_day in checks:
                result = per_day.get(date.fromisoformat(partition))
                if result is None:
                    continue
                context.log_event(
                    dg.AssetCheckEvaluation(
                        asset_key=result.asset_key,
                        check_name=result.check_name,
                        passed=result.passed,
                        metadata=result.metadata,
                        severity=result.severity,
                        partition=partition,
                    )
                )


def day_figures(table: pa.Table, date_column: str, sums: dict[str, str], days) -> dict:
    """Per day of ``days``: the rows dated that day and the sums of some columns (name -> column), in one
    pass over the table (a year's backfill describes 365 days)."""
    grouped = table.group_by(date_column).aggregate(
        [(date_column, "count"), *((column, "sum") for column in sums.values())]
    )
    found = {row[date_column]: row for row in grouped.to_pylist()}
    figures = {}
    for day in days:
        row = found.get(day, {})
        figures[day] = {"dagster/row_count": row.get(f"{date_column}_count", 0)} | {
            name: float(row.get(f"{column}_sum") or 0.0) for name, column in sums.items()
        }
    return figures


def quarantine_day_figures(quarantine: pa.Table, days) -> dict:
    """Per day of ``days``: the quarantined rows dated that day (``business_date``, the landing day) and how
    many each rule held back (``rule_<name>``), so the UI plots quarantined rows by rule across days."""
    figures = {day: {"dagster/row_count": 0} for day in days}
    if quarantine.num_rows:
        grouped = quarantine.group_by(["business_date", "rule"]).aggregate([("rule", "count")])
        for day, rule, n in zip(*(grouped.column(c).to_pylist() for c in ("business_date", "rule", "rule_count"))):
            if day in figures:
                figures[day]["dagster/row_count"] += n
                figures[day][f"rule_{rule}"] = n
    return figures


def day_schema_checks(
    key: dg.AssetKey, table: pa.Table, date_column: str, outcome: SchemaOutcome, days
) -> dict[date, dg.AssetCheckResult]:
    """Per day of ``days``: the schema check of that day's rows, from one check of the whole ``table``."""
    # Counted by Arrow: a Python list of every row's date took seconds on a day of millions of clicks.
    checked = count_by(table, date_column)
    failing = Counter()
    if outcome.failing_positions:
        positions = pa.array(outcome.failing_positions, pa.int64())
        failing = Counter(table.column(date_column).take(positions).to_pylist())
    return {
        day: dg.AssetCheckResult(
            asset_key=key,
            check_name="schema",
            passed=failing[day] == 0,
            metadata={"rows_checked": checked[day], "failing_rows": failing[day]}
            | (
                {"failures": dg.MetadataValue.md("\n".join(f"- {f}" for f in outcome.failures))} if failing[day] else {}
            ),
            severity=dg.AssetCheckSeverity.ERROR,
        )
        for day in days
    }


def distinct(column: pa.ChunkedArray) -> set:
    """The column's values, each once: made unique in Arrow before Python sees them (a large day's column
    of dates has millions of rows and a few values)."""
    return set(pc.unique(column).to_pylist())


def count_by(table: pa.Table | None, column: str) -> Counter:
    """Rows per value of ``column`` (a day), counted from the table itself."""
    if table is None or table.num_rows == 0:
        return Counter()
    counted = pc.value_counts(table.column(column))
    return Counter(dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist())))


def day_conservation_checks(
    key: dg.AssetKey,
    name: str,
    bronze: dict[date, int],
    stored: Counter,
    quarantined: Counter,
    duplicates: Counter | None = None,
) -> dict[date, dg.AssetCheckResult]:
    """Per landing day: the day's bronze rows = the rows it stored + quarantined + the duplicates it removed."""
    duplicates = duplicates or Counter()
    return {
        day: conservation_check_result(
            key, stored_conservation(rows, stored[day], quarantined[day], duplicates[day]), name
        )
        for day, rows in bronze.items()
    }


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
        metadata["failing_rows_sample"] = dg.MetadataValue.md(masked_preview(outcome.sample))
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
