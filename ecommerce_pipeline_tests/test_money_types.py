"""No money column anywhere is floating point: a run's every table is walked, from bronze to the catalog."""

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.storage.tables import local_table_store


def _is_ratio(column: str) -> bool:
    """The only floating-point columns allowed: rates (a share of sessions or views) and the average number
    of orders, never an amount of money."""
    return column.endswith("_rate") or column == "avg_orders"


@pytest.mark.slow
def test_every_table_of_a_run_keeps_money_as_decimal(project_env: Path):
    assert (
        main(["generate", "--start", "2025-01-01", "--end", "2025-01-02", "--lines-per-day", "100", "--seed", "9"]) == 0
    )
    assert main(["run", "--start", "2025-01-01", "--end", "2025-01-02"]) == 0
    lake = project_env / "lake"
    floats, walked = {}, set()
    for layer in ("bronze", "quarantine"):
        for file in (lake / layer).rglob("*.parquet"):
            table = f"{layer}/{file.relative_to(lake / layer).parts[0]}"
            walked.add(table)
            for field in pq.read_schema(file):
                if pa.types.is_floating(field.type) and not _is_ratio(field.name):
                    floats.setdefault(table, set()).add(field.name)
    store = local_table_store(lake)
    for namespace in store.catalog.list_namespaces():
        for identifier in store.catalog.list_tables(namespace):
            walked.add("/".join(identifier))
            for field in store.catalog.load_table(identifier).schema().as_arrow():
                if pa.types.is_floating(field.type) and not _is_ratio(field.name):
                    floats.setdefault("/".join(identifier), set()).add(field.name)
    with duckdb.connect(str(lake / "catalog.duckdb"), read_only=True) as con:
        for schema, table, column, data_type in con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns"
        ).fetchall():
            walked.add(f"catalog {schema}.{table}")
            if data_type in ("FLOAT", "DOUBLE", "REAL") and not _is_ratio(column):
                floats.setdefault(f"catalog {schema}.{table}", set()).add(column)
    assert {"bronze/orders", "bronze/order_items", "bronze/products", "silver/orders_validated"} <= walked
    assert {
        "gold/daily_sales_summary",
        "catalog gold.daily_sales_summary",
        "catalog analytics.rolling_revenue_30d",
    } <= walked
    assert floats == {}
