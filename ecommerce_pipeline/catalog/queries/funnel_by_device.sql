-- Sessions reaching each funnel stage per device type over every day in the lake ('all' = every device).
SELECT device_type,
       sum(sessions) AS sessions,
       sum(page_view_sessions) AS page_view_sessions,
       sum(product_view_sessions) AS product_view_sessions,
       sum(add_to_cart_sessions) AS add_to_cart_sessions,
       sum(checkout_start_sessions) AS checkout_start_sessions,
       sum(purchase_sessions) AS purchase_sessions,
       CASE WHEN sum(sessions) > 0
            THEN CAST(sum(purchase_sessions) AS DOUBLE) / sum(sessions) END AS overall_conversion_rate
FROM gold_conversion_funnel
GROUP BY device_type
