"""product_performance: per product and day, sales, views, add-to-carts and their conversion."""

from __future__ import annotations

import pyarrow as pa

from ecommerce_pipeline.transforms.sql import query

PRODUCT_PERFORMANCE_SQL = """
WITH sales AS (
    SELECT business_date, product_id, count(DISTINCT order_id) AS orders, sum(quantity) AS units,
           sum(line_revenue) AS revenue
    FROM orders_validated WHERE is_revenue GROUP BY ALL
), interest AS (
    SELECT business_date, product_id,
           count(*) FILTER (WHERE event_type = 'product_view') AS product_views,
           count(*) FILTER (WHERE event_type = 'add_to_cart') AS add_to_carts
    FROM events_clean WHERE product_id IS NOT NULL GROUP BY ALL
), combined AS (
    SELECT coalesce(s.business_date, i.business_date) AS business_date,
           coalesce(s.product_id, i.product_id) AS product_id,
           coalesce(s.orders, 0) AS orders, coalesce(s.units, 0)::BIGINT AS units,
           coalesce(s.revenue, 0) AS revenue,
           coalesce(i.product_views, 0) AS product_views, coalesce(i.add_to_carts, 0) AS add_to_carts
    FROM sales s FULL JOIN interest i ON s.business_date = i.business_date AND s.product_id = i.product_id
)
SELECT c.business_date, c.product_id, coalesce(p.product_name, c.product_id) AS product_name,
       coalesce(p.category, 'uncategorized') AS category,
       c.orders, c.units, c.revenue,
       rank() OVER (PARTITION BY c.business_date, coalesce(p.category, 'uncategorized') ORDER BY c.revenue DESC)::INTEGER
           AS revenue_rank_in_category,
       c.product_views, c.add_to_carts,
       CASE WHEN c.product_views > 0 THEN c.orders / c.product_views END AS view_to_purchase_rate
FROM combined c
LEFT JOIN products_clean p ON p.business_date = c.business_date AND p.product_id = c.product_id
ORDER BY c.business_date, category, revenue_rank_in_category, c.product_id
"""


def product_performance(orders_validated: pa.Table, events_clean: pa.Table, products_clean: pa.Table) -> pa.Table:
    return query(
        PRODUCT_PERFORMANCE_SQL,
        orders_validated=orders_validated,
        events_clean=events_clean,
        products_clean=products_clean,
    )
