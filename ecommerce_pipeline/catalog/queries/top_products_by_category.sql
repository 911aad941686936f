-- The ten best-selling products of each category and currency by revenue over every day in the lake,
-- named as on the latest day they appear, with every view of the product counted.
WITH sales AS (
    SELECT category, currency, product_id, sum(revenue) AS revenue, sum(units) AS units
    FROM gold_product_performance
    WHERE currency <> ''
    GROUP BY category, currency, product_id
), interest AS (
    SELECT product_id, max_by(product_name, business_date) AS product_name, sum(product_views) AS product_views
    FROM gold_product_performance
    GROUP BY product_id
), ranked AS (
    SELECT s.category, s.currency, s.product_id, i.product_name, s.revenue, s.units, i.product_views,
           row_number() OVER (PARTITION BY s.category, s.currency ORDER BY s.revenue DESC, s.product_id) AS rank_in_category
    FROM sales AS s
    JOIN interest AS i ON i.product_id = s.product_id
)
SELECT category, currency, rank_in_category, product_id, product_name, revenue, units, product_views
FROM ranked
WHERE rank_in_category <= 10
