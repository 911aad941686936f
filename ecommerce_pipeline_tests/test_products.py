from datetime import UTC, date, datetime
from decimal import Decimal

from ecommerce_pipeline.transforms.products import products_clean

from .conftest import bronze

D1, D2 = date(2025, 1, 1), date(2025, 1, 2)


def test_defaults_and_price_fallback():
    result = products_clean(bronze("products", [{"product_id": "P1", "base_price": "20"}]), None, [D1])
    (row,) = result.history.to_pylist()
    assert row["category"] == "uncategorized" and row["brand"] == "unknown" and row["product_name"] == "P1"
    assert row["current_price"] == Decimal("20.00") and row["is_current"]
    assert result.quarantine.num_rows == 0 and result.versions_added == 1


def test_a_price_change_is_a_new_version_from_its_day_on():
    first = products_clean(bronze("products", [{"product_id": "P1", "category": " Home ", "current_price": "10"}], D1), None, [D1])
    result = products_clean(
        bronze("products", [{"product_id": "P1", "category": "Home", "current_price": "8"}], D2), first.history, [D2]
    )
    rows = [(r["category"], r["current_price"], r["valid_from"], r["valid_to"], r["is_current"]) for r in result.history.to_pylist()]
    d1, d2 = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)
    assert rows == [("home", Decimal("10.00"), d1, d2, False), ("home", Decimal("8.00"), d2, None, True)]
    assert [(r["key"], r["from_ts"], r["to_ts"]) for r in result.changes.to_pylist()] == [("P1", d2, None)]
