"""products_clean: every version of every product (type-2 history), with documented defaults."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from ecommerce_pipeline.transforms.dimensions import DimensionResult, merge_versions
from ecommerce_pipeline.transforms.sql import trim

_t = {c: trim(c) for c in ("product_name", "category", "subcategory", "brand")}
# Each stored column as a SQL expression over the bronze row.
CLEANED_COLUMNS = {
    "product_id": "product_id",
    "product_name": f"coalesce({_t['product_name']}, product_id)",
    "category": f"coalesce(lower({_t['category']}), 'uncategorized')",
    "subcategory": f"coalesce(lower({_t['subcategory']}), 'uncategorized')",
    "brand": f"coalesce({_t['brand']}, 'unknown')",
    "base_price": "CAST(base_price AS DECIMAL(18, 2))",
    "current_price": "CAST(coalesce(current_price, base_price) AS DECIMAL(18, 2))",
    "cost": "CAST(cost AS DECIMAL(18, 2))",
    "is_active": "coalesce(is_active, true)",
    "updated_at": "coalesce(updated_at, CAST(business_date AS TIMESTAMPTZ))",
}


def products_clean(bronze: pa.Table, history: pa.Table | None, days: list[date]) -> DimensionResult:
    """The stored product versions with the bronze product rows of ``days`` merged in."""
    return merge_versions(bronze, history, days, "product_id", CLEANED_COLUMNS, [])
