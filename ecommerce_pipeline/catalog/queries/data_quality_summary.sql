-- Rows kept out of bronze and silver, per quarantine table, business day and broken rule, and values set
-- to null in silver (field_issues: the record was kept, one row per value).
SELECT 'bronze_customers' AS quarantine_table, business_date, rule, count(*) AS quarantined_rows FROM quarantine_bronze_customers GROUP BY business_date, rule
UNION ALL
SELECT 'bronze_products' AS quarantine_table, business_date, rule, count(*) AS quarantined_rows FROM quarantine_bronze_products GROUP BY business_date, rule
UNION ALL
SELECT 'bronze_orders' AS quarantine_table, business_date, rule, count(*) AS quarantined_rows FROM quarantine_bronze_orders GROUP BY business_date, rule
UNION ALL
SELECT 'bronze_order_items' AS quarantine_table, business_date, rule, count(*) AS quarantined_rows FROM quarantine_bronze_order_items GROUP BY business_date, rule
UNION ALL
SELECT 'bronze_events' AS quarantine_table, business_date, rule, count(*) AS quarantined_rows FROM quarantine_bronze_events GROUP BY business_date, rule
UNION ALL
SELECT 'silver_customers' AS quarantine_table, business_date, rule, count(*) AS quarantined_rows FROM quarantine_silver_customers GROUP BY business_date, rule
UNION ALL
SELECT 'silver_orders' AS quarantine_table, business_date, rule, count(*) AS quarantined_rows FROM quarantine_silver_orders GROUP BY business_date, rule
UNION ALL
SELECT 'silver_order_items' AS quarantine_table, business_date, rule, count(*) AS quarantined_rows FROM quarantine_silver_order_items GROUP BY business_date, rule
UNION ALL
SELECT 'field_issues' AS quarantine_table, business_date, rule, count(*) AS quarantined_rows FROM quarantine_field_issues GROUP BY business_date, rule
