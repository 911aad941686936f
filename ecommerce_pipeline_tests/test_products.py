from datetime import date

import pyarrow as pa

from ecommerce_pipeline.transforms.products import products_clean

from .conftest import bronze

D1, D2 = date(2025, 1, 1), date(2025, 1, 2)


def test_defaults_and_price_fallback():
    result = products_clean(bronze("products", [{"product_id": "P1", "base_price": "20"}]), [D1])
    (row,) = result.table.to_pylist()
    assert row["category"] == "uncategorized" and row["brand"] == "unknown" and row["product_name"] == "P1"
    assert row["current_price"] == 20.0


def test_price_change_applies_from_its_day_on():
    history = pa.concat_tables(
        [
            bronze("products", [{"product_id": "P1", "category": " Home ", "current_price": "10"}], D1),
            bronze("products", [{"product_id": "P1", "category": "Home", "current_price": "8"}], D2),
        ]
    )
    rows = {r["business_date"]: r for r in products_clean(history, [D1, D2]).table.to_pylist()}
    assert rows[D1]["current_price"] == 10 and rows[D2]["current_price"] == 8
    assert rows[D1]["category"] == "home"
