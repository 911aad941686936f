from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa

from ecommerce_pipeline.transforms.events import counted
from ecommerce_pipeline.transforms.product_performance import INPUT_SCHEMAS, product_performance

from .conftest import DAY


def inputs(silver):
    return (
        silver["orders_validated"].select(INPUT_SCHEMAS["orders_validated"].names),
        counted(silver["events_clean"]).select(INPUT_SCHEMAS["events_clean"].names),
        silver["products_clean"].select(INPUT_SCHEMAS["products_clean"].names),
    )


def test_product_performance(silver_tables):
    rows = {r["product_id"]: r for r in product_performance(*inputs(silver_tables)).to_pylist()}
    assert set(rows) == {"P1", "P2", "P9"}
    p1, p2, p9 = rows["P1"], rows["P2"], rows["P9"]
    # P1: O1 90 + O5 100 (O2 cancelled); P2: O1 2 x 20, O3 3 x 20, O4 1 x 20; P9 (no product record): O5 5.
    assert (p1["orders"], p1["units"], p1["revenue"], p1["product_views"], p1["add_to_carts"]) == (2, 2, Decimal("190.00"), 1, 1)
    assert p1["view_to_purchase_rate"] == 2.0 and p1["category"] == "electronics" and p1["product_name"] == "Phone"
    assert (p2["orders"], p2["units"], p2["revenue"], p2["product_views"]) == (3, 6, Decimal("120.00"), 1)
    assert p2["view_to_purchase_rate"] == 3.0 and p2["category"] == "uncategorized"
    assert (p9["product_name"], p9["category"], p9["revenue"], p9["view_to_purchase_rate"]) == ("P9", "uncategorized", Decimal("5.00"), None)
    assert (p1["revenue_rank_in_category"], p2["revenue_rank_in_category"], p9["revenue_rank_in_category"]) == (1, 1, 2)
    assert {r["currency"] for r in rows.values()} == {"USD"}


def products(*versions):
    """(product_id, name, category, valid_from, valid_to) versions."""
    cols = ["product_id", "product_name", "category", "valid_from", "valid_to"]
    data = {c: [v[i] for v in versions] for i, c in enumerate(cols)}
    n = len(versions)
    data |= {"landing_date": [DAY] * n, "_source_file": ["f"] * n, "_source_row": list(range(2, n + 2))}
    return pa.table(data).cast(INPUT_SCHEMAS["products_clean"])


def orders(product_ids, revenue, currency=None):
    n = len(product_ids)
    return pa.table(
        {
            "business_date": [DAY] * n,
            "product_id": product_ids,
            "order_id": [f"O{i}" for i in range(n)],
            "quantity": [1] * n,
            "line_revenue": [Decimal(v) for v in revenue],
            "is_revenue": [True] * n,
            "currency": currency or ["USD"] * n,
        }
    ).cast(INPUT_SCHEMAS["orders_validated"])


def test_product_performance_ranks_within_category_and_keeps_viewed_only_products():
    events = pa.table({"business_date": [DAY], "product_id": ["C"], "event_type": ["product_view"]}).cast(INPUT_SCHEMAS["events_clean"])
    t0 = datetime(2024, 12, 1, tzinfo=UTC)
    dims = products(("A", "a", "x", t0, None), ("B", "b", "x", t0, None), ("C", "c", "x", t0, None))
    rows = {r["product_id"]: r for r in product_performance(orders(["A", "B"], ["10", "30"]), events, dims).to_pylist()}
    assert [rows[p]["revenue_rank_in_category"] for p in "BA"] == [1, 2]
    # A product only viewed has no sales currency (''): it is ranked among the other unsold products of its category.
    assert (rows["C"]["orders"], rows["C"]["revenue"], rows["C"]["view_to_purchase_rate"]) == (0, Decimal("0.00"), 0.0)
    assert (rows["C"]["currency"], rows["C"]["revenue_rank_in_category"], rows["C"]["product_views"]) == ("", 1, 1)


def test_name_and_category_are_the_version_valid_at_the_end_of_the_day():
    noon = datetime(2025, 1, 1, 12, tzinfo=UTC)
    early = datetime(2024, 12, 1, tzinfo=UTC)
    late = datetime(2025, 1, 5, tzinfo=UTC)
    dims = products(("A", "old", "x", early, noon), ("A", "new", "y", noon, None), ("B", "first", "z", late, None))
    empty_events = INPUT_SCHEMAS["events_clean"].empty_table()
    rows = {r["product_id"]: r for r in product_performance(orders(["A", "B"], ["10", "20"]), empty_events, dims).to_pylist()}
    assert (rows["A"]["product_name"], rows["A"]["category"]) == ("new", "y")
    # B's first version starts after the day: the first version names it
    assert (rows["B"]["product_name"], rows["B"]["category"]) == ("first", "z")


def test_a_product_sold_in_two_currencies_has_a_row_for_each():
    table = product_performance(orders(["A", "A"], ["10", "7"], ["USD", "EUR"]), INPUT_SCHEMAS["events_clean"].empty_table(), products())
    assert [(r["currency"], r["revenue"], r["revenue_rank_in_category"]) for r in table.to_pylist()] == [
        ("EUR", Decimal("7.00"), 1),
        ("USD", Decimal("10.00"), 1),
    ]
