-- Customers per RFM segment as of each day, with their spend and order counts.
SELECT business_date,
       rfm_segment,
       count(*) AS customers,
       sum(total_spent) AS total_spent,
       avg(total_spent) AS avg_spent,
       avg(CAST(total_orders AS DOUBLE)) AS avg_orders
FROM gold_customer_lifetime_value
GROUP BY business_date, rfm_segment
