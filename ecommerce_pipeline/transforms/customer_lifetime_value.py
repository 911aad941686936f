"""customer_lifetime_value: every customer's orders and spend, with RFM scores and segments.

One row per customer (and currency: spend in different currencies is never added up), as of the latest
landing day processed (``business_date``). It is computed from the current state of every order, so an
order counts once in its latest status whatever day its versions arrived; replaying days in any order
gives the same table. Scores are 1-5 by percentile rank among the customers, so ties share a score.
"""

from __future__ import annotations

import tempfile
from datetime import date

import pyarrow as pa

from ecommerce_pipeline.transforms.sql import connect, duckdb_sql, literal, quote

# The whole order history streams through DuckDB in batches; what its aggregation holds beyond this spills
# to a temporary folder, so the table's memory stays the same after years of orders (the cost is disk I/O).
MEMORY_LIMIT = "256MB"

# The orders_validated columns the table is computed from, with their silver types.
HISTORY_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("order_date", pa.date32()),
        ("currency", pa.string()),
        ("line_revenue", pa.decimal128(18, 2)),
        ("is_revenue", pa.bool_()),
    ]
)
HISTORY_COLUMNS = HISTORY_SCHEMA.names

# The Athena-dialect text, with the local relation names, transpiled to DuckDB: what every local run executes.
CLV_SQL = duckdb_sql("customer_lifetime_value", orders="orders", as_of="as_of")

RFM_SEGMENTS = ("Champions", "New", "Loyal", "Potential Loyalist", "At Risk", "Hibernating", "Lost", "Need Attention")


def customer_lifetime_value(orders: pa.Table | pa.RecordBatchReader | list[str], as_of: date) -> pa.Table:
    """``orders``: the current order lines (at least HISTORY_COLUMNS) of every order date, as a table, a
    stream of record batches (read once, never held whole) or the Parquet files that hold them."""
    con = connect()
    spill = tempfile.TemporaryDirectory(prefix="clv-")
    try:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"SET temp_directory = '{spill.name}'")
        con.execute("SET preserve_insertion_order = false")
        if isinstance(orders, list) and orders:
            # DuckDB reads only the six columns, on every core, without passing each batch through Python:
            # a year of order lines in a fraction of the time of a pyiceberg stream.
            listed = ", ".join(literal(f) for f in orders)
            columns = ", ".join(quote(c) for c in HISTORY_COLUMNS)
            con.execute(f"CREATE VIEW orders AS SELECT {columns} FROM read_parquet([{listed}], union_by_name = true)")
        else:
            con.register("orders", HISTORY_SCHEMA.empty_table() if isinstance(orders, list) else orders)
        con.register("as_of", pa.table({"as_of": pa.array([as_of], pa.date32())}))
        return con.sql(CLV_SQL).to_arrow_table()
    finally:
        con.close()
        spill.cleanup()


def output_schema() -> pa.Schema:
    """The table's columns and types, whichever engine computes it: what the local engine gives for no rows."""
    return customer_lifetime_value(HISTORY_SCHEMA.empty_table(), date(2000, 1, 1)).schema
