-- product_performance in Athena (Trino) SQL: the one text both engines run.
-- Filled in by name: orders_validated, events_clean and products_clean, the silver rows of the days to compute.
WITH sales AS (
    SELECT business_date, product_id, count(DISTINCT order_id) AS orders, sum(quantity) AS units,
           sum(line_revenue) AS revenue
    FROM {orders_validated} AS orders_validated
    WHERE is_revenue
    GROUP BY business_date, product_id
), interest AS (
    SELECT business_date, product_id,
           count(*) FILTER (WHERE event_type = 'product_view') AS product_views,
           count(*) FILTER (WHERE event_type = 'add_to_cart') AS add_to_carts
    FROM {events_clean} AS events_clean
    WHERE product_id IS NOT NULL
    GROUP BY business_date, product_id
), combined AS (
    SELECT coalesce(s.business_date, i.business_date) AS business_date,
           coalesce(s.product_id, i.product_id) AS product_id,
           coalesce(s.orders, 0) AS orders, CAST(coalesce(s.units, 0) AS BIGINT) AS units,
           coalesce(s.revenue, 0) AS revenue,
           coalesce(i.product_views, 0) AS product_views, coalesce(i.add_to_carts, 0) AS add_to_carts
    FROM sales AS s
    FULL JOIN interest AS i ON s.business_date = i.business_date AND s.product_id = i.product_id
), named AS (
    SELECT c.business_date, c.product_id, coalesce(p.product_name, c.product_id) AS product_name,
           coalesce(p.category, 'uncategorized') AS category,
           c.orders, c.units, c.revenue, c.product_views, c.add_to_carts
    FROM combined AS c
    LEFT JOIN {products_clean} AS p ON p.business_date = c.business_date AND p.product_id = c.product_id
)
SELECT business_date, product_id, product_name, category, orders, units, revenue,
       CAST(rank() OVER (PARTITION BY business_date, category ORDER BY revenue DESC) AS INTEGER) AS revenue_rank_in_category,
       product_views, add_to_carts,
       -- Trino divides integers as integers: the rate is a fraction.
       CASE WHEN product_views > 0 THEN CAST(orders AS DOUBLE) / product_views END AS view_to_purchase_rate
FROM named
ORDER BY business_date, category, revenue_rank_in_category, product_id
