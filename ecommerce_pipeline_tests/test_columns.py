"""Every silver and gold column is described once, and the text reaches every place an analyst looks:
the Iceberg schema (Glue's column comments), the DuckDB catalog, the Dagster UI and the README."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.quality.columns import columns_markdown, describe
from ecommerce_pipeline.storage.tables import local_table_store

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
TABLES = [
    "silver/customers_clean", "silver/products_clean", "silver/order_versions", "silver/order_line_versions",
    "silver/orders_validated", "silver/events_clean", "silver/dimension_changes", "silver/restatements",
    "gold/daily_sales_summary", "gold/customer_lifetime_value", "gold/customer_order_days", "gold/customer_totals",
    "gold/product_performance",
    "gold/conversion_funnel",
]  # fmt: skip


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    root = tmp_path_factory.mktemp("columns")
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("ECOM_LANDING_DIR", "landing"), ("ECOM_LAKE_DIR", "lake"), ("DAGSTER_HOME", "home")):
            mp.setenv(var, str(root / sub))
        mp.setenv("ECOM_CATALOG_PATH", str(root / "lake" / "catalog.duckdb"))
        (root / "home").mkdir()
        assert (
            main(["generate", "--start", "2025-01-01", "--end", "2025-01-02", "--lines-per-day", "100", "--seed", "2"])
            == 0
        )
        assert main(["run", "--start", "2025-01-01", "--end", "2025-01-02"]) == 0
        store = local_table_store(root / "lake")
        with dg.DagsterInstance.get() as instance:
            yield root, store, instance


def test_every_column_has_a_description_in_the_iceberg_schema(two_days):
    _, store, _ = two_days
    for table in TABLES:
        fields = store.load(table).schema().fields
        missing = [f.name for f in fields if not describe(table, f.name)]
        assert not missing, f"{table}: no description for {missing}"
        assert all(f.doc == describe(table, f.name) for f in fields), table


def test_the_duckdb_catalog_carries_the_descriptions(two_days):
    root, _, _ = two_days
    with duckdb.connect(str(root / "lake" / "catalog.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'gold' AND table_name = 'customer_lifetime_value'"
        ).fetchall()
    assert dict(rows)["f_score"] == describe("gold/customer_lifetime_value", "f_score")
    assert all(comment for _, comment in rows)


def test_the_ui_column_schema_carries_the_descriptions(two_days):
    _, _, instance = two_days
    record = instance.fetch_materializations(dg.AssetKey(["gold", "conversion_funnel"]), limit=1).records[0]
    columns = record.asset_materialization.metadata["dagster/column_schema"].value.columns
    described = {c.name: c.description for c in columns}
    assert described["overall_conversion_rate"] == "purchase_sessions / sessions."
    assert all(described.values())


def test_the_readme_column_table_is_the_generated_one(two_days):
    _, store, _ = two_days
    table = columns_markdown({t: store.load(t).schema().column_names for t in TABLES})
    assert table in README, (
        "README column table is stale; regenerate it with columns_markdown() over the tables' schemas (see this test)"
    )
