"""Plain-DuckDB references the benchmark measures the pipeline against: one day's CSV landing files in,
Parquet out, in one DuckDB connection, with no Dagster, no Iceberg, no checks and no chunking.

- ``gold_only``: reads the day's files and writes the four gold tables, with just the rules gold needs.
- ``same_work``: the pipeline's work in one script: typed bronze with lineage and a quarantine, silver
  (cleaned dimension versions, validated orders in their current state, deduplicated events), then gold.

Both run the project's own SQL texts where they are plain DuckDB (the bronze validation, the order batch
steps, the gold tables), so a difference in time is the pipeline's machinery, not another query.

    python -m ecommerce_pipeline.tooling.reference {gold_only,same_work} LANDING_DIR DAY OUT_DIR
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from ecommerce_pipeline.transforms.conversion_funnel import FUNNEL_SQL
from ecommerce_pipeline.transforms.daily_sales_summary import DAILY_SALES_SQL
from ecommerce_pipeline.transforms.product_performance import PRODUCT_PERFORMANCE_SQL
from ecommerce_pipeline.transforms.sql import duckdb_sql, literal

GOLD_TABLES = ("daily_sales_summary", "customer_lifetime_value", "product_performance", "conversion_funnel")

# Over relations named orders_validated (current order lines), events_clean (the counted events),
# products_clean (product versions) and as_of (one DATE column as_of).
GOLD_SQL = {
    "daily_sales_summary": DAILY_SALES_SQL,
    "customer_lifetime_value": duckdb_sql("customer_lifetime_value", orders="orders_validated", as_of="as_of"),
    "product_performance": PRODUCT_PERFORMANCE_SQL,
    "conversion_funnel": FUNNEL_SQL,
}


def landing_files(landing: Path, entity: str, day: date) -> list[Path]:
    """The day's CSV files of an entity (hidden files and folders skipped), in name order."""
    folder = landing / entity / day.isoformat()
    hidden = ("_", ".")
    return sorted(
        p for p in folder.rglob("*.csv") if not any(part.startswith(hidden) for part in p.relative_to(folder).parts)
    )


def read_csv(files: list[Path], **options: str) -> str:
    """A read_csv over files, every value as text (as the pipeline reads them)."""
    listed = ", ".join(literal(str(f)) for f in files)
    extra = "".join(f", {k} = {v}" for k, v in options.items())
    return f"read_csv([{listed}], all_varchar = true, header = true{extra})"


def write_parquet(con: duckdb.DuckDBPyConnection, relation: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ({relation}) TO {literal(str(path))} (FORMAT PARQUET)")


def write_gold(con: duckdb.DuckDBPyConnection, out: Path, day: date) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE as_of AS SELECT DATE {literal(day.isoformat())} AS as_of")
    for name, sql in GOLD_SQL.items():
        write_parquet(con, sql, out / "gold" / f"{name}.parquet")


# What the benchmark compares between the pipeline's gold and a reference's: sums that any correct
# computation of the day gives, whatever the order of rows or the version of a dimension chosen.
FIGURES_SQL = {
    "revenue": "SELECT CAST(sum(total_revenue) AS VARCHAR) FROM {daily_sales_summary}",
    "units_sold": "SELECT CAST(sum(units_sold) AS BIGINT) FROM {daily_sales_summary}",
    "sessions": "SELECT CAST(sum(sessions) AS BIGINT) FROM {conversion_funnel} WHERE device_type = 'all'",
    "purchase_sessions": "SELECT CAST(sum(purchase_sessions) AS BIGINT) FROM {conversion_funnel} WHERE device_type = 'all'",
    "product_revenue": "SELECT CAST(sum(revenue) AS VARCHAR) FROM {product_performance}",
    "product_views": "SELECT CAST(sum(product_views) AS BIGINT) FROM {product_performance}",
    "customers": "SELECT count(*) FROM {customer_lifetime_value}",
    "customer_spend": "SELECT CAST(sum(total_spent) AS VARCHAR) FROM {customer_lifetime_value}",
}


def gold_figures(con: duckdb.DuckDBPyConnection, relation: Callable[[str], str]) -> dict:
    """The figures of FIGURES_SQL, with ``relation(table)`` giving where each gold table is read from."""
    tables = {name: relation(name) for name in GOLD_TABLES}
    return {name: con.execute(sql.format_map(tables)).fetchone()[0] for name, sql in FIGURES_SQL.items()}


def reference_gold_figures(out: Path) -> dict:
    con = duckdb.connect()
    try:
        return gold_figures(con, lambda name: f"read_parquet({literal(str(out / 'gold' / f'{name}.parquet'))})")
    finally:
        con.close()
