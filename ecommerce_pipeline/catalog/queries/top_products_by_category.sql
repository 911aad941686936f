-- The ten best-selling products of each category by revenue over every day in the lake,
-- named as on the latest day they appear.
WITH totals AS (
    SELECT category,
           product_id,
           max_by(product_name, business_date) AS product_name,
           sum(revenue) AS revenue,
           sum(units) AS units,
           sum(product_views) AS product_views
    FROM gold_product_performance
    GROUP BY category, product_id
), ranked AS (
    SELECT category, product_id, product_name, revenue, units, product_views,
           row_number() OVER (PARTITION BY category ORDER BY revenue DESC, product_id) AS rank_in_category
    FROM totals
)
SELECT category, rank_in_category, product_id, product_name, revenue, units, product_views
FROM ranked
WHERE rank_in_category <= 10
