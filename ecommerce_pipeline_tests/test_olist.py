"""The Olist importer: the pure conversion on tiny frames, and the real 2017 sample taken through the
whole pipeline, with gold figures checked against figures computed from the CSVs with plain pandas."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.settings import DEFAULT_NON_REVENUE_STATUSES
from ecommerce_pipeline.tooling.olist import convert_olist

from .conftest import local_run_env, run_in_own_process

ROOT = Path(__file__).resolve().parents[1]
OLIST = ROOT.parent / "shared" / "datasets" / "olist_2017_10k"
START, END = "2017-11-20", "2017-11-26"  # the week of Black Friday 2017


def tiny_olist() -> dict[str, pd.DataFrame]:
    return {
        "orders": pd.DataFrame(
            {
                "order_id": ["o1", "o2", "o3"],
                "customer_id": ["c-o1", "c-o2", "c-o3"],
                "order_status": ["delivered", "canceled", "shipped"],
                "order_purchase_timestamp": ["2017-03-01 23:10:00", "2017-03-02 08:00:00", "2017-03-02 09:00:00"],
            }
        ),
        "order_items": pd.DataFrame(
            {
                "order_id": ["o1", "o1", "o2"],
                "order_item_id": ["1", "2", "1"],
                "product_id": ["p1", "p2", "p1"],
                "shipping_limit_date": ["2017-03-05 00:00:00"] * 3,
                "price": ["10.5", "20", "10.5"],
                "freight_value": ["3.25", "4", "1"],
            }
        ),
        "customers": pd.DataFrame(
            {
                "customer_id": ["c-o1", "c-o2", "c-o3"],
                "customer_unique_id": ["ann", "ann", "bob"],
                "customer_zip_code_prefix": ["1234", "1234", "22041"],
                "customer_city": ["sao paulo", "sao paulo", "rio de janeiro"],
                "customer_state": ["SP", "SP", "RJ"],
            }
        ),
        "products": pd.DataFrame(
            {"product_id": ["p1", "p2"], "product_category_name": ["beleza_saude", "sem_traducao"]}
        ),
        "product_category_name_translation": pd.DataFrame(
            {"product_category_name": ["beleza_saude"], "product_category_name_english": ["health_beauty"]}
        ),
    }


def test_conversion_follows_the_landing_contract():
    landing = convert_olist(tiny_olist())
    orders = landing.orders.set_index("order_id")
    # The person (customer_unique_id) is the customer; freight is summed per order into shipping.
    assert orders["customer_id"].to_dict() == {"o1": "ann", "o2": "ann", "o3": "bob"}
    assert orders["shipping_cost"].to_dict() == {"o1": "7.25", "o2": "1.0", "o3": "0.0"}
    assert orders["status"].to_dict() == {"o1": "delivered", "o2": "canceled", "o3": "shipped"}
    assert orders.loc["o1", "order_ts"] == "2017-03-01T23:10:00" and orders.loc["o1", "business_date"] == "2017-03-01"
    items = landing.order_items
    assert items[["order_id", "line_number", "quantity", "unit_price", "business_date"]].values.tolist() == [
        ["o1", "1", "1", "10.5", "2017-03-01"],
        ["o1", "2", "1", "20", "2017-03-01"],
        ["o2", "1", "1", "10.5", "2017-03-02"],
    ]
    # Customers and products land on every day they are needed, zip prefixes regain their leading zero.
    assert landing.customers[["business_date", "customer_id", "postal_code"]].values.tolist() == [
        ["2017-03-01", "ann", "01234"],
        ["2017-03-02", "ann", "01234"],
        ["2017-03-02", "bob", "22041"],
    ]
    assert landing.products[["business_date", "product_id", "category"]].values.tolist() == [
        ["2017-03-01", "p1", "health_beauty"],
        ["2017-03-01", "p2", "sem_traducao"],
        ["2017-03-02", "p1", "health_beauty"],
    ]


def test_import_olist_refuses_a_folder_without_the_olist_files(tmp_path, capsys):
    assert main(["import-olist", str(tmp_path), "--to", str(tmp_path / "landing")]) == 2
    assert "orders.csv" in capsys.readouterr().err


def expected_figures() -> dict[str, object]:
    """Figures for START..END straight from the Olist CSVs, with pandas only."""
    orders = pd.read_csv(OLIST / "orders.csv", dtype=str)
    items = pd.read_csv(OLIST / "order_items.csv", dtype=str)
    items["price"] = items["price"].map(Decimal)  # exact money, as the pipeline keeps it
    customers = pd.read_csv(OLIST / "customers.csv", dtype=str)
    products = pd.read_csv(OLIST / "products.csv", dtype=str)
    translation = pd.read_csv(OLIST / "product_category_name_translation.csv", dtype=str)

    orders["day"] = orders["order_purchase_timestamp"].str[:10]
    orders = orders[(orders["day"] >= START) & (orders["day"] <= END)]
    orders = orders.merge(customers[["customer_id", "customer_unique_id", "customer_state"]], on="customer_id")
    lines = items.merge(orders, on="order_id")
    english = dict(zip(translation["product_category_name"], translation["product_category_name_english"]))
    category = products.set_index("product_id")["product_category_name"].map(lambda c: english.get(c, c))
    lines["category"] = lines["product_id"].map(category).fillna("uncategorized").str.lower()
    revenue = lines[~lines["order_status"].str.lower().isin(DEFAULT_NON_REVENUE_STATUSES)]

    def total(values: pd.Series) -> Decimal:
        return sum(values, Decimal("0.00"))

    return {
        "by_day": revenue.groupby("day").agg(revenue=("price", total), units=("price", "size"), orders=("order_id", "nunique")),
        "by_category": revenue.groupby("category")["price"].agg(total),
        "by_state": revenue.groupby("customer_state")["price"].agg(total),
        "customers": revenue.groupby("customer_unique_id").agg(orders=("order_id", "nunique"), spent=("price", total)),
        "orders_without_lines": int((~orders["order_id"].isin(items["order_id"])).sum()),
        "landed_orders": len(orders),
    }  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(not OLIST.exists(), reason=f"the Olist sample is not at {OLIST}")
def test_olist_week_through_the_pipeline_matches_pandas(tmp_path, capsys):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    assert main(["import-olist", str(OLIST), "--to", str(landing)]) == 0
    assert "10,000 rows" in capsys.readouterr().out

    run_in_own_process(local_run_env(tmp_path, landing, lake, "2017-01-01"), START, END)

    want = expected_figures()
    with duckdb.connect(str(lake / "catalog.duckdb"), read_only=True) as con:

        def frame(sql: str) -> pd.DataFrame:
            return con.sql(sql).to_arrow_table().to_pandas()  # decimals stay Python decimals

        by_day = frame(
            "SELECT strftime(business_date, '%Y-%m-%d') AS day, sum(total_revenue) AS revenue, sum(units_sold) AS units "
            "FROM gold.daily_sales_summary GROUP BY 1 ORDER BY 1"
        ).set_index("day")
        orders_by_day = frame(
            "SELECT strftime(business_date, '%Y-%m-%d') AS day, count(DISTINCT order_id) AS orders "
            "FROM silver.orders_validated WHERE is_revenue GROUP BY 1 ORDER BY 1"
        ).set_index("day")
        by_category = frame(
            "SELECT product_category, sum(total_revenue) AS revenue FROM gold.daily_sales_summary GROUP BY 1"
        ).set_index("product_category")["revenue"]
        by_state = frame("SELECT region, sum(total_revenue) AS revenue FROM gold.daily_sales_summary GROUP BY 1")
        clv = frame(
            "SELECT business_date, customer_id, currency, total_orders, total_spent FROM gold.customer_lifetime_value"
        ).set_index("customer_id")
        bronze_orders = frame("SELECT count(*) AS n FROM bronze.orders")["n"].item()
        quarantine = frame("SELECT rule, count(*) AS n FROM quarantine.silver_orders GROUP BY 1")
        versions = frame(
            "SELECT count(*) AS n, count(*) FILTER (WHERE line_count = 0) AS no_lines FROM silver.order_versions"
        )

    expected = want["by_day"]
    assert list(by_day.index) == list(expected.index) and len(expected) == 7
    assert by_day["revenue"].tolist() == expected["revenue"].tolist()
    assert all(isinstance(v, Decimal) for v in by_day["revenue"])
    assert by_day["units"].tolist() == expected["units"].tolist()
    assert orders_by_day["orders"].tolist() == expected["orders"].tolist()
    assert by_category.to_dict() == want["by_category"].to_dict()
    assert by_state.set_index("region")["revenue"].to_dict() == want["by_state"].to_dict()
    customers = want["customers"]
    # One row per customer (Olist sells in one currency), as of the last day of the week.
    assert set(clv["business_date"].astype(str)) == {END} and clv["currency"].nunique() == 1
    assert len(clv) == len(customers)
    assert clv["total_orders"].to_dict() == customers["orders"].to_dict()
    assert clv["total_spent"].to_dict() == customers["spent"].to_dict()
    # Every order of the week landed and none is held back: Olist orders without items are status-only
    # versions (kept in silver.order_versions, no line in the current state, so no revenue).
    assert bronze_orders == want["landed_orders"]
    assert quarantine.empty
    assert versions.to_dict("records") == [{"n": want["landed_orders"], "no_lines": want["orders_without_lines"]}]
    assert want["orders_without_lines"] > 0
    assert sum(expected["revenue"], Decimal(0)) == Decimal("88469.87")  # the figure `ecommerce-pipeline run` printed


@pytest.mark.slow
@pytest.mark.skipif(not OLIST.exists(), reason=f"the Olist sample is not at {OLIST}")
def test_olist_week_on_aws_matches_pandas_to_the_cent(tmp_path, capsys):
    """The same week through ECOM_ENV=aws against a moto server: S3, Glue (Iceberg silver and gold)."""
    import boto3

    from ecommerce_pipeline_tests.conftest import mocked_aws

    landing = tmp_path / "landing"
    assert main(["import-olist", str(OLIST), "--to", str(landing)]) == 0
    with mocked_aws(tmp_path) as variables:
        bucket, _, prefix = variables["ECOM_LANDING_URI"][len("s3://") :].partition("/")
        s3 = boto3.client("s3")
        for path in landing.rglob("*.csv"):
            day = path.parent.name
            if START <= day <= END:
                s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(landing).as_posix()}")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOM_", "AWS_"))}
        env |= variables | {"ECOM_START_DATE": "2017-01-01"}
        run_in_own_process(env, START, END)
        from ecommerce_pipeline.defs.resources import GlueTablesResource

        sales = GlueTablesResource().store().read("gold/daily_sales_summary").to_pandas()
    want = expected_figures()["by_day"]
    got = sales.assign(day=sales["business_date"].astype(str)).groupby("day")["total_revenue"].sum()
    assert {d: str(v) for d, v in got.items()} == {d: f"{v:.2f}" for d, v in want["revenue"].round(2).items()}
    assert sum(got) == Decimal("88469.87")
