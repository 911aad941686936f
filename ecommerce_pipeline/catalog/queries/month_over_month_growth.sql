-- Revenue per calendar month of the order date and currency, the previous month's and the growth between them.
WITH monthly AS (
    SELECT CAST(date_trunc('month', order_date) AS DATE) AS month, currency, sum(total_revenue) AS revenue
    FROM gold_daily_sales_summary
    GROUP BY CAST(date_trunc('month', order_date) AS DATE), currency
), with_previous AS (
    SELECT month, currency, revenue, lag(revenue) OVER (PARTITION BY currency ORDER BY month) AS previous_revenue
    FROM monthly
)
SELECT month,
       currency,
       revenue,
       previous_revenue,
       CASE WHEN previous_revenue > 0 THEN (revenue - previous_revenue) / previous_revenue END AS growth_rate
FROM with_previous
