from datetime import date

import pyarrow as pa

from ecommerce_pipeline.settings import DEFAULT_NON_REVENUE_STATUSES
from ecommerce_pipeline.transforms.customers import customers_clean
from ecommerce_pipeline.transforms.orders import orders_validated
from ecommerce_pipeline.transforms.products import products_clean

from .conftest import DAY, STORE, bronze


def validate(store=STORE):
    customers = customers_clean(bronze("customers", store["customers"]), [DAY]).table
    products = products_clean(bronze("products", store["products"]), [DAY]).table
    return orders_validated(
        bronze("orders", store["orders"]),
        bronze("order_items", store["order_items"]),
        customers,
        products,
        DEFAULT_NON_REVENUE_STATUSES,
    )


def test_lines_are_joined_deduplicated_and_enriched():
    result = validate()
    rows = {(r["order_id"], r["line_number"]): r for r in result.table.to_pylist()}
    assert set(rows) == {("O1", 1), ("O1", 2), ("O2", 1), ("O3", 1)}
    o1 = rows[("O1", 1)]
    assert (o1["line_amount"], o1["line_revenue"], o1["discount"]) == (90.0, 90.0, 10.0)
    assert (o1["product_category"], o1["customer_region"], o1["order_year"], o1["order_month"]) == (
        "electronics",
        "CA",
        2025,
        1,
    )
    assert rows[("O1", 2)]["product_category"] == "uncategorized"
    assert rows[("O3", 1)]["customer_region"] == "BR"
    assert result.duplicate_orders == 1


def test_non_revenue_statuses_carry_zero_revenue():
    rows = {r["order_id"]: r for r in validate().table.to_pylist()}
    assert rows["O2"]["status"] == "cancelled" and not rows["O2"]["is_revenue"]
    assert rows["O2"]["line_revenue"] == 0 and rows["O2"]["line_amount"] == 100


def test_order_with_unknown_customer_or_product_is_held_back_whole():
    result = validate()
    orders_q = {r["raw_record"].split('"order_id":"')[1][:2]: r for r in result.orders_quarantine.to_pylist()}
    assert orders_q["O4"]["rule"] == "unknown_customer"  # C404 is not a customer
    assert orders_q["O5"]["rule"] == "order_has_invalid_line"
    lines_q = sorted((r["_source_row"], r["rule"]) for r in result.lines_quarantine.to_pylist())
    assert lines_q == [(6, "order_rejected"), (7, "unknown_product"), (8, "order_rejected")]


def test_lines_without_order_orders_without_lines_and_excess_discount():
    store = {
        **STORE,
        "orders": [*STORE["orders"][:1], {**STORE["orders"][0], "order_id": "O7"}],
        "order_items": [
            *STORE["order_items"][:2],
            {"order_id": "O8", "line_number": "1", "product_id": "P1", "quantity": "1", "unit_price": "5"},
        ],
    }
    result = validate(store)
    assert result.table.column("order_id").to_pylist() == ["O1", "O1"]
    assert result.orders_quarantine.column("rule").to_pylist() == ["order_without_lines"]
    assert result.lines_quarantine.column("rule").to_pylist() == ["line_without_order"]

    store["order_items"] = [{**STORE["order_items"][0], "discount": "500"}, STORE["order_items"][1]]
    result = validate(store)
    assert "discount_exceeds_amount" in result.lines_quarantine.column("rule").to_pylist()
    assert "O1" not in result.table.column("order_id").to_pylist()


def test_each_day_is_checked_against_that_days_dimensions():
    day2 = date(2025, 1, 2)
    customers_history = pa.concat_tables(
        [
            bronze("customers", STORE["customers"]),
            bronze("customers", [{"customer_id": "C9", "email": "c9@x.com"}], day2),
        ]
    )
    customers = customers_clean(customers_history, [DAY, day2]).table
    products = products_clean(bronze("products", STORE["products"]), [DAY, day2]).table
    order = {"customer_id": "C9", "order_ts": "2025-01-02T10:00:00Z", "status": "delivered"}
    orders = pa.concat_tables(
        [
            bronze("orders", [{**order, "order_id": "A1", "order_ts": "2025-01-01T10:00:00Z"}]),
            bronze("orders", [{**order, "order_id": "A2"}], day2),
        ]
    )
    line = {"line_number": "1", "product_id": "P1", "quantity": "1", "unit_price": "10"}
    items = pa.concat_tables(
        [bronze("order_items", [{**line, "order_id": "A1"}]), bronze("order_items", [{**line, "order_id": "A2"}], day2)]
    )
    result = orders_validated(orders, items, customers, products, DEFAULT_NON_REVENUE_STATUSES)
    # C9 signed up on day 2: its day-1 order is unknown, its day-2 order is valid.
    assert result.table.column("order_id").to_pylist() == ["A2"]
    assert result.orders_quarantine.column("rule").to_pylist() == ["unknown_customer"]
    assert result.orders_quarantine.column("business_date").to_pylist() == [DAY]
