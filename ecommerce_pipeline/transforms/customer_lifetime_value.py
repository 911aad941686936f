"""customer_lifetime_value: every customer's orders and spend up to a day, with RFM scores and segments.

An order re-sent on a later day (a status change, say) counts once, in its newest version as of the
day. Scores are 1-5 by percentile rank among the day's customers, so ties share a score.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from ecommerce_pipeline.transforms.sql import query

HISTORY_COLUMNS = ["business_date", "order_id", "customer_id", "order_date", "line_revenue", "is_revenue"]

CLV_SQL = """
WITH order_versions AS (
    SELECT business_date, order_id, any_value(customer_id) AS customer_id, any_value(order_date) AS order_date,
           sum(line_revenue) AS revenue, bool_and(is_revenue) AS is_revenue
    FROM history GROUP BY business_date, order_id
), as_of AS (
    SELECT d.as_of, o.*
    FROM (SELECT unnest($days::DATE[]) AS as_of) d
    JOIN order_versions o ON o.business_date <= d.as_of
    QUALIFY row_number() OVER (PARTITION BY d.as_of, o.order_id ORDER BY o.business_date DESC) = 1
), totals AS (
    SELECT as_of, customer_id, count(*) AS total_orders, sum(revenue) AS total_spent,
           min(order_date) AS first_order_date, max(order_date) AS last_order_date
    FROM as_of WHERE is_revenue GROUP BY ALL
), scored AS (
    SELECT *, total_spent / total_orders AS avg_order_value,
           (as_of - first_order_date)::INTEGER AS days_since_first_order,
           (as_of - last_order_date)::INTEGER AS days_since_last_order,
           least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY as_of ORDER BY last_order_date)))::INTEGER AS r_score,
           least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY as_of ORDER BY total_orders)))::INTEGER AS f_score,
           least(5, 1 + floor(5 * percent_rank() OVER (PARTITION BY as_of ORDER BY total_spent)))::INTEGER AS m_score
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
"""

RFM_SEGMENTS = ("Champions", "New", "Loyal", "Potential Loyalist", "At Risk", "Hibernating", "Lost", "Need Attention")


def customer_lifetime_value(history: pa.Table, days: list[date]) -> pa.Table:
    """``history``: orders_validated rows (at least HISTORY_COLUMNS) of ``days`` and every earlier day."""
    return query(CLV_SQL, {"days": days}, history=history)
