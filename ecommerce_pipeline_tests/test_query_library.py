"""The query library: Athena SQL files, transpiled to DuckDB and run on demo data, checked against pandas."""

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from ecommerce_pipeline.catalog.duckdb_catalog import DuckDBCatalog
from ecommerce_pipeline.catalog.query_library import athena_create_view, athena_sql, query_names, to_duckdb
from ecommerce_pipeline.cli import main
from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.lake import LocalLake
from ecommerce_pipeline.storage.tables import local_table_store

QUARANTINE_TABLES = [
    "bronze_customers",
    "bronze_products",
    "bronze_orders",
    "bronze_order_items",
    "bronze_events",
    "silver_customers",
    "silver_orders",
    "silver_order_items",
    "field_issues",
]


def test_the_library_has_the_six_analyst_queries():
    assert query_names() == [
        "data_quality_summary",
        "funnel_by_device",
        "month_over_month_growth",
        "rfm_segment_summary",
        "rolling_revenue_30d",
        "top_products_by_category",
    ]
    assert athena_create_view("funnel_by_device").startswith("CREATE OR REPLACE VIEW analytics_funnel_by_device AS\n")


def test_glue_table_names_become_catalog_views_and_athena_functions_duckdb_ones():
    sql = to_duckdb(
        "SELECT max_by(x, d), date_add('day', -29, d) FROM gold_product_performance AS p JOIN daily ON true"
    )
    assert "gold.product_performance AS p" in sql and "daily" in sql
    assert "ARG_MAX" in sql.upper() and "INTERVAL" in sql.upper()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Four demo days across a month boundary, run through every layer into the local catalog."""
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECOM_LANDING_DIR", str(root / "landing"))
        mp.setenv("ECOM_LAKE_DIR", str(root / "lake"))
        mp.setenv("ECOM_CATALOG_PATH", str(root / "lake" / "catalog.duckdb"))
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        mp.delenv("ECOM_ENV", raising=False)
        (root / "dagster_home").mkdir()
        args = ["--start", "2025-01-30", "--end", "2025-02-02"]
        assert main(["generate", *args, "--lines-per-day", "250", "--seed", "11"]) == 0
        assert main(["run", *args]) == 0
        settings = load_settings()
        lake = LocalLake(settings.lake_dir)
        days = [date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 1), date(2025, 2, 2)]

        store = local_table_store(settings.lake_dir)

        def table(name: str) -> pd.DataFrame:
            # Silver and gold are Iceberg tables (read through pyiceberg, not the catalog under test);
            # quarantine stays daily Parquet.
            if name.startswith("quarantine/"):
                return lake.read_partitions(name, days).to_pandas()
            return store.read(name).to_pandas()

        yield DuckDBCatalog(settings.catalog_path, lake), table


def view(catalog: DuckDBCatalog, name: str, order: list[str]) -> pd.DataFrame:
    return catalog.query(f"SELECT * FROM analytics.{name}").to_pandas().sort_values(order).reset_index(drop=True)


def same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    expected = expected.reset_index(drop=True)
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected) > 0
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, check_exact=False, rtol=1e-9)


def test_rolling_revenue_30d(demo):
    catalog, table = demo
    sales = table("gold/daily_sales_summary")
    rows = []
    for currency, of_currency in sales.groupby("currency"):
        daily = of_currency.groupby("order_date")["total_revenue"].sum()
        for day, revenue in daily.items():
            window = daily[(daily.index >= day - pd.Timedelta(days=29)) & (daily.index <= day)]
            rows.append(
                {
                    "order_date": day,
                    "currency": currency,
                    "daily_revenue": revenue,
                    "revenue_30d": window.sum(),
                    "days_with_sales_30d": len(window),
                }
            )
    expected = pd.DataFrame(rows).sort_values(["order_date", "currency"])
    same(view(catalog, "rolling_revenue_30d", ["order_date", "currency"]), expected)
    assert expected["days_with_sales_30d"].max() >= 4


def test_month_over_month_growth(demo):
    catalog, table = demo
    sales = table("gold/daily_sales_summary")
    assert sales["currency"].nunique() == 1, "the demo sells in one currency"
    month = sales["order_date"].map(lambda d: d.replace(day=1))
    monthly = sales.groupby([month, sales["currency"]])["total_revenue"].sum().rename("revenue").reset_index()
    monthly.columns = ["month", "currency", "revenue"]
    # Revenue is exact (decimal); the growth rate is a fraction (a double).
    revenue = monthly["revenue"].tolist()
    previous = [None, *revenue[:-1]]
    monthly["previous_revenue"] = pd.Series(previous, dtype=object)
    monthly["growth_rate"] = pd.Series(
        [float((r - p) / p) if p else float("nan") for r, p in zip(revenue, previous)], dtype="float64"
    )
    actual = view(catalog, "month_over_month_growth", ["month"])
    same(actual, monthly)
    assert actual["growth_rate"].notna().sum() >= 1


def test_rfm_segment_summary(demo):
    catalog, table = demo
    clv = table("gold/customer_lifetime_value")
    expected = (
        clv.groupby(["business_date", "rfm_segment", "currency"])
        .agg(
            customers=("customer_id", "size"),
            total_spent=("total_spent", "sum"),
            avg_spent=("total_spent", "mean"),
            avg_orders=("total_orders", "mean"),
        )
        .reset_index()
    )
    expected["avg_spent"] = expected["avg_spent"].astype(float).round(2)
    actual = view(catalog, "rfm_segment_summary", ["business_date", "rfm_segment", "currency"])
    assert all(isinstance(v, Decimal) for v in actual["avg_spent"])  # money stays decimal, to the cent
    actual["avg_spent"] = actual["avg_spent"].astype(float)
    same(actual, expected)


def test_top_products_by_category(demo):
    catalog, table = demo
    perf = table("gold/product_performance").sort_values("business_date")
    interest = perf.groupby("product_id").agg(
        product_name=("product_name", "last"), product_views=("product_views", "sum")
    )
    totals = (
        perf[perf["currency"] != ""]
        .groupby(["category", "currency", "product_id"])
        .agg(revenue=("revenue", "sum"), units=("units", "sum"))
        .reset_index()
        .join(interest, on="product_id")
        .sort_values(["category", "currency", "revenue", "product_id"], ascending=[True, True, False, True])
    )
    totals["rank_in_category"] = totals.groupby(["category", "currency"]).cumcount() + 1
    expected = totals[totals["rank_in_category"] <= 10][
        ["category", "currency", "rank_in_category", "product_id", "product_name", "revenue", "units", "product_views"]
    ]
    same(view(catalog, "top_products_by_category", ["category", "currency", "rank_in_category"]), expected)


def test_funnel_by_device(demo):
    catalog, table = demo
    funnel = table("gold/conversion_funnel")
    stages = ["page_view", "product_view", "add_to_cart", "checkout_start", "purchase"]
    columns = ["sessions", *(f"{s}_sessions" for s in stages)]
    expected = funnel.groupby("device_type")[columns].sum().reset_index()
    expected["overall_conversion_rate"] = expected["purchase_sessions"] / expected["sessions"]
    actual = view(catalog, "funnel_by_device", ["device_type"])
    same(actual, expected.sort_values("device_type"))
    assert "all" in set(actual["device_type"])


def test_data_quality_summary(demo):
    catalog, table = demo
    parts = []
    for name in QUARANTINE_TABLES:
        rows = table(f"quarantine/{name}")
        parts.append(
            rows.groupby(["business_date", "rule"])
            .size()
            .rename("quarantined_rows")
            .reset_index()
            .assign(quarantine_table=name)
        )
    expected = pd.concat(parts)[["quarantine_table", "business_date", "rule", "quarantined_rows"]]
    expected = expected.sort_values(["quarantine_table", "business_date", "rule"])
    same(view(catalog, "data_quality_summary", ["quarantine_table", "business_date", "rule"]), expected)
    assert expected["quarantined_rows"].sum() > 0


def test_every_file_is_one_select_athena_can_wrap_in_a_view():
    for name in query_names():
        assert ";" not in athena_sql(name)
