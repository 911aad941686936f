"""customer_lifetime_value: every customer's orders and spend up to a day, with RFM scores and segments.

An order re-sent on a later day (a status change, say) counts once, in its newest version as of the
day. Scores are 1-5 by percentile rank among the day's customers, so ties share a score.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from ecommerce_pipeline.transforms.sql import duckdb_sql, query

HISTORY_COLUMNS = ["business_date", "order_id", "customer_id", "order_date", "line_revenue", "is_revenue"]

# The Athena-dialect text, with the local relation names, transpiled to DuckDB: what every local run executes.
CLV_SQL = duckdb_sql("customer_lifetime_value", history="history", as_of_days="as_of_days")

RFM_SEGMENTS = ("Champions", "New", "Loyal", "Potential Loyalist", "At Risk", "Hibernating", "Lost", "Need Attention")


def customer_lifetime_value(history: pa.Table, days: list[date]) -> pa.Table:
    """``history``: orders_validated rows (at least HISTORY_COLUMNS) of ``days`` and every earlier day."""
    as_of_days = pa.table({"as_of": pa.array(days, pa.date32())})
    return query(CLV_SQL, history=history, as_of_days=as_of_days)
