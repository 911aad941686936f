import pyarrow as pa

from ecommerce_pipeline.transforms.product_performance import product_performance

from .conftest import DAY


def test_product_performance(silver_tables):
    rows = {
        r["product_id"]: r
        for r in product_performance(
            silver_tables["orders_validated"], silver_tables["events_clean"], silver_tables["products_clean"]
        ).to_pylist()
    }
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
            "business_date": [DAY] * 2,
            "product_id": ["A", "B"],
            "order_id": ["O1", "O2"],
            "quantity": [1, 1],
            "line_revenue": [10.0, 30.0],
            "is_revenue": [True, True],
        }
    )
    events = pa.table({"business_date": [DAY], "product_id": ["C"], "event_type": ["product_view"]})
    products = pa.table(
        {
            "business_date": [DAY] * 3,
            "product_id": ["A", "B", "C"],
            "product_name": ["a", "b", "c"],
            "category": ["x"] * 3,
        }
    )
    rows = {r["product_id"]: r for r in product_performance(orders, events, products).to_pylist()}
    assert [rows[p]["revenue_rank_in_category"] for p in "BAC"] == [1, 2, 3]
    assert rows["C"]["orders"] == 0 and rows["C"]["view_to_purchase_rate"] == 0.0
