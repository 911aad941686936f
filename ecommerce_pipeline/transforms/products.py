"""products_clean: the latest version of every product as of each day, with documented defaults."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from ecommerce_pipeline.transforms.snapshot import SilverResult, dimension_snapshots
from ecommerce_pipeline.transforms.sql import trim


def products_clean(history: pa.Table, days: list[date]) -> SilverResult:
    """Snapshots as of ``days`` from bronze product rows of those days and every earlier day."""
    t = {c: trim(c) for c in ("product_name", "category", "subcategory", "brand")}
    columns = {
        "product_id": "product_id",
        "product_name": f"coalesce({t['product_name']}, product_id)",
        "category": f"coalesce(lower({t['category']}), 'uncategorized')",
        "subcategory": f"coalesce(lower({t['subcategory']}), 'uncategorized')",
        "brand": f"coalesce({t['brand']}, 'unknown')",
        "base_price": "base_price",
        "current_price": "coalesce(current_price, base_price)",
        "cost": "cost",
        "is_active": "coalesce(is_active, true)",
        "updated_at": "coalesce(updated_at, _ingested_at)",
    }
    return dimension_snapshots(history, days, "product_id", columns, [])
