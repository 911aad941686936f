-- product_performance in Athena (Trino) SQL: the one text both engines run.
-- Filled in by name: orders_validated (current order lines of the dates to compute), events_clean (the counted
-- events of those dates) and products_clean (every product version). The product's name and category are
-- those of its version valid at the end of the day (its first version for a day before it).
WITH sales AS (
    SELECT business_date, product_id, currency, count(DISTINCT order_id) AS orders, sum(quantity) AS units,
           sum(line_revenue) AS revenue
    FROM {orders_validated} AS orders_validated
    WHERE is_revenue
    GROUP BY business_date, product_id, currency
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
           coalesce(s.currency, '') AS currency,
           coalesce(s.orders, 0) AS orders, CAST(coalesce(s.units, 0) AS BIGINT) AS units,
           CAST(coalesce(s.revenue, 0) AS DECIMAL(18, 2)) AS revenue,
           coalesce(i.product_views, 0) AS product_views, coalesce(i.add_to_carts, 0) AS add_to_carts
    FROM sales AS s
    FULL JOIN interest AS i ON s.business_date = i.business_date AND s.product_id = i.product_id
), versions AS (
    SELECT product_id, product_name, category, valid_from, valid_to,
           row_number() OVER (PARTITION BY product_id ORDER BY valid_from, landing_date, _source_file, _source_row) AS version_number
    FROM {products_clean} AS products_clean
    WHERE valid_to IS NULL OR valid_to > valid_from
), named AS (
    SELECT c.business_date, c.product_id, c.currency,
           coalesce(v.product_name, f.product_name, c.product_id) AS product_name,
           coalesce(v.category, f.category, 'uncategorized') AS category,
           c.orders, c.units, c.revenue, c.product_views, c.add_to_carts
    FROM combined AS c
    LEFT JOIN versions AS v ON v.product_id = c.product_id
         AND v.valid_from < CAST(date_add('day', 1, c.business_date) AS TIMESTAMP)
         AND (v.valid_to IS NULL OR v.valid_to >= CAST(date_add('day', 1, c.business_date) AS TIMESTAMP))
    LEFT JOIN versions AS f ON f.product_id = c.product_id AND f.version_number = 1
)
SELECT business_date, product_id, product_name, category, currency, orders, units, revenue,
       CAST(rank() OVER (PARTITION BY business_date, category, currency ORDER BY revenue DESC) AS INTEGER) AS revenue_rank_in_category,
       product_views, add_to_carts,
       -- Trino divides integers as integers: the rate is a fraction.
       CASE WHEN product_views > 0 THEN CAST(orders AS DOUBLE) / product_views END AS view_to_purchase_rate
FROM named
ORDER BY business_date, category, currency, revenue_rank_in_category, product_id
