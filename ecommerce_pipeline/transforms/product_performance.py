"""product_performance: per product and day, sales, views, add-to-carts and their conversion."""

from __future__ import annotations

import pyarrow as pa

from ecommerce_pipeline.transforms.sql import duckdb_sql, query

# The Athena-dialect text, with the local relation names, transpiled to DuckDB: what every local run executes.
PRODUCT_PERFORMANCE_SQL = duckdb_sql(
    "product_performance",
    orders_validated="orders_validated",
    events_clean="events_clean",
    products_clean="products_clean",
)


def product_performance(orders_validated: pa.Table, events_clean: pa.Table, products_clean: pa.Table) -> pa.Table:
    return query(
        PRODUCT_PERFORMANCE_SQL,
        orders_validated=orders_validated,
        events_clean=events_clean,
        products_clean=products_clean,
    )
