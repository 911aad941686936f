-- Customers per RFM segment and currency as of each day, with their spend and order counts.
-- Spend in different currencies is never added up. The average spend is decimal, rounded to the cent.
SELECT business_date,
       rfm_segment,
       currency,
       count(*) AS customers,
       CAST(sum(total_spent) AS DECIMAL(18, 2)) AS total_spent,
       CAST(round(sum(total_spent) / count(*), 2) AS DECIMAL(18, 2)) AS avg_spent,
       avg(CAST(total_orders AS DOUBLE)) AS avg_orders
FROM gold_customer_lifetime_value
GROUP BY business_date, rfm_segment, currency
