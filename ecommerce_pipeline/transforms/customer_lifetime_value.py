"""customer_lifetime_value: every customer's orders and spend up to a day, with RFM scores and segments.

An order re-sent on a later day (a status change, say) counts once, in its newest version as of the
day. Scores are 1-5 by percentile rank among the day's customers, so ties share a score.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from ecommerce_pipeline.transforms.sql import duckdb_sql, query

# The orders_validated columns the table is computed from, with their silver types.
HISTORY_SCHEMA = pa.schema(
    [
        ("business_date", pa.date32()),
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("order_date", pa.date32()),
        ("line_revenue", pa.float64()),
        ("is_revenue", pa.bool_()),
    ]
)
HISTORY_COLUMNS = HISTORY_SCHEMA.names

# The Athena-dialect text, with the local relation names, transpiled to DuckDB: what every local run executes.
CLV_SQL = duckdb_sql("customer_lifetime_value", history="history", as_of_days="as_of_days")

RFM_SEGMENTS = ("Champions", "New", "Loyal", "Potential Loyalist", "At Risk", "Hibernating", "Lost", "Need Attention")


def customer_lifetime_value(history: pa.Table, days: list[date]) -> pa.Table:
    """``history``: orders_validated rows (at least HISTORY_COLUMNS) of ``days`` and every earlier day."""
    as_of_days = pa.table({"as_of": pa.array(days, pa.date32())})
    return query(CLV_SQL, history=history, as_of_days=as_of_days)


def output_schema() -> pa.Schema:
    """The table's columns and types, whichever engine computes it: what the local engine gives for no rows."""
    return customer_lifetime_value(HISTORY_SCHEMA.empty_table(), []).schema
