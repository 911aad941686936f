from decimal import Decimal

import pyarrow as pa

from ecommerce_pipeline.transforms.daily_sales_summary import daily_sales_summary

from .conftest import DAY


def test_daily_sales_summary_counts_revenue_orders_only(silver_tables):
    rows = {
        (r["product_category"], r["region"]): r for r in daily_sales_summary(silver_tables["orders_validated"]).to_pylist()
    }
    # O1 (C1, CA): P1 90 + P2 40; O5 (C1, CA): P9 (unknown product) 5 + P1 100; O3 (C2, BR): P2 60;
    # O4 (C3, whose record was quarantined: region unknown): P2 20. O2 is cancelled; shipping and tax excluded.
    got = {
        k: (r["total_orders"], r["total_revenue"], r["avg_order_value"], r["unique_customers"], r["units_sold"])
        for k, r in rows.items()
    }
    assert got == {
        ("electronics", "CA"): (2, Decimal("190.00"), Decimal("95.00"), 1, 2),
        ("uncategorized", "CA"): (2, Decimal("45.00"), Decimal("22.50"), 1, 3),
        ("uncategorized", "BR"): (1, Decimal("60.00"), Decimal("60.00"), 1, 3),
        ("uncategorized", "unknown"): (1, Decimal("20.00"), Decimal("20.00"), 1, 1),
    }
    assert {(r["business_date"], r["currency"]) for r in rows.values()} == {(DAY, "USD")}


def orders(revenue, currency=("USD",) * 3, is_revenue=(True,) * 3):
    n = len(revenue)
    return pa.table(
        {
            "business_date": [DAY] * n,
            "order_date": [DAY] * n,
            "product_category": ["a"] * n,
            "customer_region": ["r"] * n,
            "currency": list(currency[:n]),
            "order_id": ["O1", "O1", "O2"][:n],
            "customer_id": ["C1", "C1", "C1"][:n],
            "line_revenue": pa.array([Decimal(v) for v in revenue], pa.decimal128(18, 2)),
            "quantity": [1, 1, 2][:n],
            "is_revenue": list(is_revenue[:n]),
        }
    )


def test_daily_sales_summary_average_order_value_rounds_half_away_from_zero():
    (row,) = daily_sales_summary(orders(["10.00", "20.01", "30.00"])).to_pylist()
    # 60.01 over 2 orders = 30.005 -> 30.01
    assert (row["total_orders"], row["total_revenue"], row["avg_order_value"], row["unique_customers"]) == (
        2,
        Decimal("60.01"),
        Decimal("30.01"),
        1,
    )


def test_currencies_are_never_added_up_and_non_revenue_lines_are_left_out():
    rows = daily_sales_summary(orders(["10.00", "20.00", "30.00"], ("USD", "USD", "EUR"), (True, False, True)))
    assert [(r["currency"], r["total_revenue"], r["units_sold"]) for r in rows.to_pylist()] == [
        ("EUR", Decimal("30.00"), 2),
        ("USD", Decimal("10.00"), 1),
    ]
