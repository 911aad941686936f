-- customer_lifetime_value in Athena (Trino) SQL: the one text both engines run.
-- Filled in by name: history (orders_validated rows of the as-of days and every earlier day) and
-- as_of_days (one DATE column, as_of: the days to compute).
-- Money is summed in whole cents: integer sums do not depend on the order rows arrive in, so ties in
-- m_score (and the scores themselves) are the same on every re-run.
WITH order_versions AS (
    SELECT business_date, order_id, arbitrary(customer_id) AS customer_id, arbitrary(order_date) AS order_date,
           sum(CAST(round(line_revenue * 100) AS BIGINT)) AS revenue_cents, bool_and(is_revenue) AS is_revenue
    FROM {history} AS history
    GROUP BY business_date, order_id
), versions_as_of AS (
    SELECT d.as_of, o.order_id, o.customer_id, o.order_date, o.revenue_cents, o.is_revenue,
           row_number() OVER (PARTITION BY d.as_of, o.order_id ORDER BY o.business_date DESC) AS newest_first
    FROM {as_of_days} AS d
    JOIN order_versions AS o ON o.business_date <= d.as_of
), totals AS (
    SELECT as_of, customer_id, count(*) AS total_orders, sum(revenue_cents) AS spent_cents,
           min(order_date) AS first_order_date, max(order_date) AS last_order_date
    FROM versions_as_of
    WHERE newest_first = 1 AND is_revenue
    GROUP BY as_of, customer_id
), scored AS (
    SELECT as_of, customer_id, total_orders, CAST(spent_cents AS DOUBLE) / 100 AS total_spent,
           first_order_date, last_order_date,
           CAST(spent_cents AS DOUBLE) / 100 / total_orders AS avg_order_value,
           CAST(date_diff('day', first_order_date, as_of) AS INTEGER) AS days_since_first_order,
           CAST(date_diff('day', last_order_date, as_of) AS INTEGER) AS days_since_last_order,
           CAST(least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY as_of ORDER BY last_order_date))) AS INTEGER) AS r_score,
           CAST(least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY as_of ORDER BY total_orders))) AS INTEGER) AS f_score,
           CAST(least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY as_of ORDER BY spent_cents))) AS INTEGER) AS m_score
    FROM totals
)
SELECT as_of AS business_date, customer_id, total_orders, total_spent, avg_order_value,
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
ORDER BY business_date, customer_id
