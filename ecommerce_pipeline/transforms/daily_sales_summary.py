"""daily_sales_summary: revenue, orders, customers and units per order date x product category x region."""

from __future__ import annotations

import pyarrow as pa

from ecommerce_pipeline.transforms.sql import query

INPUT_COLUMNS = [
    "business_date", "order_date", "product_category", "customer_region", "order_id", "customer_id",
    "line_revenue", "quantity", "is_revenue",
]  # fmt: skip

DAILY_SALES_SQL = """
SELECT business_date, order_date, product_category, customer_region AS region,
       count(DISTINCT order_id) AS total_orders,
       sum(line_revenue) AS total_revenue,
       sum(line_revenue) / count(DISTINCT order_id) AS avg_order_value,
       count(DISTINCT customer_id) AS unique_customers,
       sum(quantity)::BIGINT AS units_sold
FROM orders_validated
WHERE is_revenue
GROUP BY ALL
ORDER BY business_date, order_date, product_category, region
"""


def daily_sales_summary(orders_validated: pa.Table) -> pa.Table:
    """Only lines of revenue orders count; shipping and tax are not revenue."""
    return query(DAILY_SALES_SQL, orders_validated=orders_validated)
