-- customer_lifetime_value in Athena (Trino) SQL: the one text both engines run.
-- Filled in by name: orders (the current order lines of every order date: customer_id, order_id,
-- order_date, line_revenue, is_revenue, currency) and as_of (one row, one DATE column as_of: the latest
-- landing day processed). One row per customer and currency, as of that day.
-- Money is decimal: sums do not depend on the order rows arrive in, so ties in m_score (and the scores
-- themselves) are the same on every re-run.
WITH orders_of_customers AS (
    SELECT customer_id, currency, order_id, min(order_date) AS order_date, sum(line_revenue) AS revenue
    FROM {orders} AS orders
    WHERE is_revenue
    GROUP BY customer_id, currency, order_id
), totals AS (
    SELECT customer_id, currency, count(*) AS total_orders, CAST(sum(revenue) AS DECIMAL(18, 2)) AS total_spent,
           min(order_date) AS first_order_date, max(order_date) AS last_order_date
    FROM orders_of_customers
    GROUP BY customer_id, currency
), scored AS (
    SELECT a.as_of, t.customer_id, t.currency, t.total_orders, t.total_spent,
           t.first_order_date, t.last_order_date,
           -- Half away from zero to the cent, in whole cents: DuckDB divides decimals as doubles, Athena exactly.
           CAST(CAST(floor(CAST(CAST(t.total_spent * 100 AS BIGINT) * 2 + t.total_orders AS DOUBLE) / (2 * t.total_orders)) AS DECIMAL(18, 0))
                * DECIMAL '0.01' AS DECIMAL(18, 2)) AS avg_order_value,
           CAST(greatest(0, date_diff('day', t.first_order_date, a.as_of)) AS INTEGER) AS days_since_first_order,
           CAST(greatest(0, date_diff('day', t.last_order_date, a.as_of)) AS INTEGER) AS days_since_last_order,
           CAST(least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY t.currency ORDER BY t.last_order_date))) AS INTEGER) AS r_score,
           CAST(least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY t.currency ORDER BY t.total_orders))) AS INTEGER) AS f_score,
           CAST(least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY t.currency ORDER BY t.total_spent))) AS INTEGER) AS m_score
    FROM totals AS t CROSS JOIN {as_of} AS a
)
SELECT as_of AS business_date, customer_id, currency, total_orders, total_spent, avg_order_value,
       first_order_date, last_order_date, days_since_first_order, days_since_last_order,
       r_score, f_score, m_score,
       CASE WHEN r_score >= 4 AND f_score >= 4 AND m_score >= 4 THEN 'Champions'
            WHEN total_orders = 1 AND days_since_first_order <= 30 THEN 'New'
            WHEN r_score >= 3 AND f_score >= 4 THEN 'Loyal'
            WHEN r_score >= 4 THEN 'Potential Loyalist'
            WHEN r_score <= 2 AND f_score >= 3 THEN 'At Risk'
            WHEN r_score = 2 THEN 'Hibernating'
            WHEN r_score = 1 THEN 'Lost'
            ELSE 'Need Attention' END AS rfm_segment
FROM scored
ORDER BY customer_id, currency
