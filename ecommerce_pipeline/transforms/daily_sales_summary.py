"""daily_sales_summary: revenue, orders, customers and units per order date x category x region x currency.

Built from the current state of every order (silver ``orders_validated``), so an order counts once, in
its latest status, on the date it was placed; a later cancellation or refund removes its revenue from
that date. Revenue is never summed across currencies: the currency is part of the row's key.
"""

from __future__ import annotations

import pyarrow as pa

from ecommerce_pipeline.transforms.sql import query

INPUT_COLUMNS = [
    "business_date", "order_date", "product_category", "customer_region", "currency", "order_id", "customer_id",
    "line_revenue", "quantity", "is_revenue",
]  # fmt: skip

# Averages are rounded half away from zero to the cent (revenue is never negative, so half up), exactly.
DAILY_SALES_SQL = """
SELECT business_date, order_date, product_category, customer_region AS region, currency,
       count(DISTINCT order_id) AS total_orders,
       CAST(sum(line_revenue) AS DECIMAL(18, 2)) AS total_revenue,
       -- DuckDB divides decimals as doubles (60.01 / 2 = 30.00499...): divide whole cents instead, exactly.
       CAST(CAST((CAST(sum(line_revenue) * 100 AS HUGEINT) * 2 + count(DISTINCT order_id))
                 // (2 * count(DISTINCT order_id)) AS DECIMAL(18, 0)) * 0.01 AS DECIMAL(18, 2)) AS avg_order_value,
       count(DISTINCT customer_id) AS unique_customers,
       sum(quantity)::BIGINT AS units_sold
FROM orders_validated
WHERE is_revenue
GROUP BY ALL
ORDER BY business_date, product_category, region, currency
"""


def daily_sales_summary(orders_validated: pa.Table) -> pa.Table:
    """Only lines of revenue orders count; shipping and tax are not revenue."""
    return query(DAILY_SALES_SQL, orders_validated=orders_validated)
