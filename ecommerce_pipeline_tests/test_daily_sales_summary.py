import pyarrow as pa

from ecommerce_pipeline.transforms.daily_sales_summary import daily_sales_summary

from .conftest import DAY


def test_daily_sales_summary_counts_revenue_orders_only(silver_tables):
    rows = {
        (r["product_category"], r["region"]): r
        for r in daily_sales_summary(silver_tables["orders_validated"]).to_pylist()
    }
    # O1 (C1, CA): P1 90 + P2 40; O3 (C2, BR): P2 60; O2 is cancelled; shipping and tax are not revenue.
    assert set(rows) == {("electronics", "CA"), ("uncategorized", "CA"), ("uncategorized", "BR")}
    assert rows[("electronics", "CA")]["total_revenue"] == 90
    assert rows[("uncategorized", "CA")]["units_sold"] == 2
    assert rows[("uncategorized", "BR")]["total_revenue"] == 60
    assert all(r["total_orders"] == 1 and r["unique_customers"] == 1 for r in rows.values())


def test_daily_sales_summary_average_order_value():
    orders = pa.table(
        {
            "business_date": [DAY] * 3,
            "order_date": [DAY] * 3,
            "product_category": ["a"] * 3,
            "customer_region": ["r"] * 3,
            "order_id": ["O1", "O1", "O2"],
            "customer_id": ["C1", "C1", "C1"],
            "line_revenue": [10.0, 20.0, 30.0],
            "quantity": [1, 1, 2],
            "is_revenue": [True] * 3,
        }
    )
    (row,) = daily_sales_summary(orders).to_pylist()
    assert (row["total_orders"], row["total_revenue"], row["avg_order_value"], row["unique_customers"]) == (
        2,
        60,
        30,
        1,
    )
