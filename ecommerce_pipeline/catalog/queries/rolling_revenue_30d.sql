-- Revenue per order date and currency, and over the 30 days ending on that date (revenue orders only:
-- shipping, tax, cancelled and refunded orders excluded, as in gold_daily_sales_summary, each order once
-- in its current state). Revenue in different currencies is never added up.
WITH daily AS (
    SELECT order_date, currency, sum(total_revenue) AS revenue
    FROM gold_daily_sales_summary
    GROUP BY order_date, currency
)
SELECT d.order_date,
       d.currency,
       d.revenue AS daily_revenue,
       sum(w.revenue) AS revenue_30d,
       count(*) AS days_with_sales_30d
FROM daily d
JOIN daily w ON w.currency = d.currency AND w.order_date BETWEEN date_add('day', -29, d.order_date) AND d.order_date
GROUP BY d.order_date, d.currency, d.revenue
