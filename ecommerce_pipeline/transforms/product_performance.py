"""product_performance: per product and date, sales (by order date, current order state), views and
add-to-carts (by event date) and their conversion; a product sold in two currencies has a row for each."""

from __future__ import annotations

import pyarrow as pa

from ecommerce_pipeline.transforms.sql import duckdb_sql, query

# The silver columns the table is computed from, with their silver types.
INPUT_SCHEMAS = {
    "orders_validated": pa.schema(
        [
            ("business_date", pa.date32()),
            ("product_id", pa.string()),
            ("order_id", pa.string()),
            ("quantity", pa.int64()),
            ("line_revenue", pa.decimal128(18, 2)),
            ("is_revenue", pa.bool_()),
            ("currency", pa.string()),
        ]
    ),
    "events_clean": pa.schema(
        [("business_date", pa.date32()), ("product_id", pa.string()), ("event_type", pa.string())]
    ),
    "products_clean": pa.schema(
        [
            ("product_id", pa.string()),
            ("product_name", pa.string()),
            ("category", pa.string()),
            ("valid_from", pa.timestamp("us", tz="UTC")),
            ("valid_to", pa.timestamp("us", tz="UTC")),
            ("landing_date", pa.date32()),
            ("_source_file", pa.string()),
            ("_source_row", pa.int64()),
        ]
    ),
}

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


def output_schema() -> pa.Schema:
    """The table's columns and types, whichever engine computes it: what the local engine gives for no rows."""
    return product_performance(**{name: schema.empty_table() for name, schema in INPUT_SCHEMAS.items()}).schema
