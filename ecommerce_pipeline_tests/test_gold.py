"""Gold transforms on the hand-made store in conftest; every expected figure is worked out by hand."""

from datetime import date

import pyarrow as pa
import pytest

from ecommerce_pipeline.settings import DEFAULT_NON_REVENUE_STATUSES
from ecommerce_pipeline.transforms.conversion_funnel import conversion_funnel
from ecommerce_pipeline.transforms.customer_lifetime_value import customer_lifetime_value
from ecommerce_pipeline.transforms.customers import customers_clean
from ecommerce_pipeline.transforms.daily_sales_summary import daily_sales_summary
from ecommerce_pipeline.transforms.events import events_clean
from ecommerce_pipeline.transforms.orders import orders_validated
from ecommerce_pipeline.transforms.product_performance import product_performance
from ecommerce_pipeline.transforms.products import products_clean

from .conftest import DAY, STORE, bronze


@pytest.fixture(scope="module")
def silver():
    customers = customers_clean(bronze("customers", STORE["customers"]), [DAY]).table
    products = products_clean(bronze("products", STORE["products"]), [DAY]).table
    orders = orders_validated(
        bronze("orders", STORE["orders"]), bronze("order_items", STORE["order_items"]), customers, products,
        DEFAULT_NON_REVENUE_STATUSES,
    ).table
    return {"orders": orders, "products": products, "events": events_clean(bronze("events", STORE["events"])).table}


def test_daily_sales_summary_counts_revenue_orders_only(silver):
    rows = {(r["product_category"], r["region"]): r for r in daily_sales_summary(silver["orders"]).to_pylist()}
    # O1 (C1, CA): P1 90 + P2 40; O3 (C2, BR): P2 60; O2 is cancelled; shipping and tax are not revenue.
    assert set(rows) == {("electronics", "CA"), ("uncategorized", "CA"), ("uncategorized", "BR")}
    assert rows[("electronics", "CA")]["total_revenue"] == 90
    assert rows[("uncategorized", "CA")]["units_sold"] == 2
    assert rows[("uncategorized", "BR")]["total_revenue"] == 60
    assert all(r["total_orders"] == 1 and r["unique_customers"] == 1 for r in rows.values())


def test_daily_sales_summary_average_order_value():
    orders = pa.table(
        {
            "business_date": [DAY] * 3, "order_date": [DAY] * 3, "product_category": ["a"] * 3, "customer_region": ["r"] * 3,
            "order_id": ["O1", "O1", "O2"], "customer_id": ["C1", "C1", "C1"], "line_revenue": [10.0, 20.0, 30.0],
            "quantity": [1, 1, 2], "is_revenue": [True] * 3,
        }
    )
    (row,) = daily_sales_summary(orders).to_pylist()
    assert (row["total_orders"], row["total_revenue"], row["avg_order_value"], row["unique_customers"]) == (2, 60, 30, 1)


def history(rows):
    cols = ["business_date", "order_id", "customer_id", "order_date", "line_revenue", "is_revenue"]
    return pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})


def test_customer_lifetime_value_as_of_each_day():
    d = [date(2025, 1, i) for i in range(1, 11)]
    orders = history(
        [
            (d[0], "O1", "C1", d[0], 50.0, True),
            (d[0], "O1", "C1", d[0], 50.0, True),  # a second line of the same order
            (d[4], "O2", "C1", d[4], 30.0, True),
            (d[1], "O3", "C2", d[1], 10.0, True),
            (d[2], "O4", "C3", d[2], 99.0, False),  # cancelled: no revenue, not an order of C3
            (d[3], "O3", "C2", d[1], 0.0, False),  # O3 re-sent on day 4 as refunded
        ]
    )
    table = customer_lifetime_value(orders, [d[2], d[9]])
    rows = {(r["business_date"], r["customer_id"]): r for r in table.to_pylist()}
    assert set(rows) == {(d[2], "C1"), (d[2], "C2"), (d[9], "C1")}
    c1 = rows[(d[9], "C1")]
    assert (c1["total_orders"], c1["total_spent"], c1["avg_order_value"]) == (2, 130.0, 65.0)
    assert (c1["first_order_date"], c1["last_order_date"]) == (d[0], d[4])
    assert (c1["days_since_first_order"], c1["days_since_last_order"]) == (9, 5)
    assert rows[(d[2], "C2")]["total_spent"] == 10.0  # before the refund arrived


def test_rfm_scores_and_segments_rank_customers():
    d0 = date(2025, 1, 1)
    as_of = date(2025, 6, 30)
    rows = []
    for i in range(10):
        # customer Ci ordered i+1 times, spending more and more recently as i grows
        for k in range(i + 1):
            day = date.fromordinal(d0.toordinal() + 15 * i + k)
            rows.append((day, f"O{i}-{k}", f"C{i}", day, 10.0 * (i + 1), True))
    table = customer_lifetime_value(history(rows), [as_of])
    scores = {r["customer_id"]: r for r in table.to_pylist()}
    assert (scores["C9"]["r_score"], scores["C9"]["f_score"], scores["C9"]["m_score"]) == (5, 5, 5)
    assert (scores["C0"]["r_score"], scores["C0"]["f_score"], scores["C0"]["m_score"]) == (1, 1, 1)
    assert scores["C9"]["rfm_segment"] == "Champions"
    assert scores["C0"]["rfm_segment"] == "Lost"
    assert all(1 <= r[s] <= 5 for r in scores.values() for s in ("r_score", "f_score", "m_score"))


def test_rfm_ties_share_a_score_and_new_customers_are_new():
    day = date(2025, 1, 1)
    table = customer_lifetime_value(history([(day, f"O{i}", f"C{i}", day, 10.0, True) for i in range(6)]), [day])
    assert {(r["r_score"], r["f_score"], r["m_score"], r["rfm_segment"]) for r in table.to_pylist()} == {(1, 1, 1, "New")}


def test_product_performance(silver):
    rows = {r["product_id"]: r for r in product_performance(silver["orders"], silver["events"], silver["products"]).to_pylist()}
    assert set(rows) == {"P1", "P2"}
    p1, p2 = rows["P1"], rows["P2"]
    assert (p1["orders"], p1["units"], p1["revenue"], p1["product_views"], p1["add_to_carts"]) == (1, 1, 90.0, 1, 1)
    assert p1["view_to_purchase_rate"] == 1.0 and p1["category"] == "electronics"
    assert (p2["orders"], p2["units"], p2["revenue"], p2["product_views"]) == (2, 5, 100.0, 1)
    assert p2["view_to_purchase_rate"] == 2.0
    assert p1["revenue_rank_in_category"] == 1 and p2["revenue_rank_in_category"] == 1


def test_product_performance_ranks_within_category_and_keeps_viewed_only_products():
    orders = pa.table(
        {
            "business_date": [DAY] * 2, "product_id": ["A", "B"], "order_id": ["O1", "O2"], "quantity": [1, 1],
            "line_revenue": [10.0, 30.0], "is_revenue": [True, True],
        }
    )
    events = pa.table({"business_date": [DAY], "product_id": ["C"], "event_type": ["product_view"]})
    products = pa.table(
        {"business_date": [DAY] * 3, "product_id": ["A", "B", "C"], "product_name": ["a", "b", "c"], "category": ["x"] * 3}
    )
    rows = {r["product_id"]: r for r in product_performance(orders, events, products).to_pylist()}
    assert [rows[p]["revenue_rank_in_category"] for p in "BAC"] == [1, 2, 3]
    assert rows["C"]["orders"] == 0 and rows["C"]["view_to_purchase_rate"] == 0.0


def test_conversion_funnel(silver):
    rows = {r["device_type"]: r for r in conversion_funnel(silver["events"]).to_pylist()}
    assert set(rows) == {"all", "mobile", "desktop"}
    overall = rows["all"]
    # S1 reached purchase (so checkout too); S2 only viewed a product.
    assert [overall[f"{s}_sessions"] for s in ("page_view", "product_view", "add_to_cart", "checkout_start", "purchase")] == [2, 2, 1, 1, 1]
    assert overall["product_view_to_add_to_cart_rate"] == 0.5
    assert overall["overall_conversion_rate"] == 0.5
    assert rows["mobile"]["purchase_sessions"] == 1 and rows["desktop"]["purchase_sessions"] == 0
