"""What every silver and gold column means, written once for the analyst.

These texts reach the Dagster UI's column schema, the Iceberg field docs (and so Glue's column comments
and Athena), the DuckDB catalog (``COMMENT ON COLUMN``) and the README's generated table. A column used by
several tables with the same meaning is described once in ``SHARED``; a table's own meaning wins.
"""

from __future__ import annotations

MONEY = "decimal(18, 2), in the order's currency"

SHARED = {
    "business_date": "The date the row describes: the order's date (or the event's) in the store's time zone.",
    "landing_date": "The landing day (folder date) whose files brought this row: when we learned it.",
    "_source_file": "The landing file the row came from (an archive member as archive.zip!member.csv).",
    "_source_row": "The row's number in its landing file (1 = first data row).",
    "_batch_id": "Fingerprint of the landing day's set of files: the same files give the same batch id.",
    "customer_id": "The store's customer identifier, as text exactly as exported (trimmed).",
    "product_id": "The store's product identifier, as text exactly as exported (trimmed).",
    "order_id": "The store's order identifier, as text exactly as exported (trimmed).",
    "line_number": "The line's number within its order.",
    "quantity": "Units of the product on the line.",
    "unit_price": f"Price of one unit, {MONEY}.",
    "discount": f"Discount on the whole line, {MONEY} (0 when the export has none).",
    "order_ts": "When the order was placed (UTC).",
    "order_date": "The order's date in the store's time zone (ECOM_STORE_TIMEZONE).",
    "status": "The order's status, lower-cased (delivered, shipped, cancelled, refunded, ...).",
    "payment_method": "How the order was paid, lower-cased; 'unknown' when not exported.",
    "currency": "ISO currency code of the order's amounts (ECOM_DEFAULT_CURRENCY when not exported).",
    "shipping_cost": f"Shipping charged on the order, {MONEY}; not revenue.",
    "tax": f"Tax charged on the order, {MONEY}; not revenue.",
    "valid_from": "When this version started to apply: the record's updated_at (midnight UTC of the landing day when missing).",
    "valid_to": "When the next version started to apply; empty for the current version.",
    "is_current": "True for the latest version of the key.",
    "updated_at": "When the record last changed, as exported.",
    "is_active": "Whether the record is active (true when not exported).",
    "region": "The customer's state, or country where there is no state; 'unknown' when the customer is not known.",
    "category": "The product's category, lower-cased; 'uncategorized' when missing.",
    "product_name": "The product's name (its id when missing).",
    "device_type": "Device of the session's events, lower-cased; 'unknown' when missing.",
    "country": "Country as exported; 'unknown' when missing.",
    "total_orders": "Distinct orders with revenue (not cancelled, refunded, unavailable or failed).",
    "avg_order_value": f"Revenue per order, {MONEY}, rounded half away from zero to the cent.",
}

TABLES: dict[str, dict[str, str]] = {
    "silver/customers_clean": {
        "email": "E-mail, trimmed and lower-cased; personal data.",
        "first_name": "First name; personal data.",
        "last_name": "Last name; personal data.",
        "phone": "Phone number in E.164 (+<country code><number>); personal data.",
        "date_of_birth": "Date of birth; personal data.",
        "gender": "Gender as exported, lower-cased; 'unknown' when missing.",
        "city": "City; 'unknown' when missing.",
        "state": "State or province as exported.",
        "postal_code": "Postal code; personal data.",
        "signup_date_reported": "Sign-up date as exported (empty when the export has none).",
        "signup_date": "Sign-up date: as exported, else the first landing day the customer was seen.",
        "customer_segment": "The store's segment for the customer, lower-cased; 'standard' when missing.",
    },
    "silver/products_clean": {
        "subcategory": "The product's subcategory, lower-cased; 'uncategorized' when missing.",
        "brand": "Brand; 'unknown' when missing.",
        "base_price": f"List price, {MONEY}.",
        "current_price": f"Current selling price, {MONEY} (the base price when missing).",
        "cost": f"Unit cost to the store, {MONEY}.",
    },
    "silver/order_versions": {
        "version_ts": "The version's time: updated_at, or order_ts when the export has none. Orders versions.",
        "line_count": "Lines sent with this version (0: a status-only update).",
        "is_current": "True for the order's latest valid version: its current state.",
        "lines_current": "True for the version whose lines are the order's current line set.",
        "order_date": "The version's order date in the store's time zone (the table's partition).",
    },
    "silver/order_line_versions": {
        "order_date": "Order date of the version the line belongs to (the table's partition).",
        "version_landing_date": "Landing day of the order version the line was sent with.",
        "version_source_file": "Landing file of the order version the line was sent with.",
        "version_source_row": "Row of the order version the line was sent with.",
    },
    "silver/orders_validated": {
        "business_date": "The order's date in the store's time zone: the table's partition.",
        "line_amount": f"quantity x unit_price - discount, {MONEY}.",
        "is_revenue": "False when the order's current status carries no revenue (ECOM_NON_REVENUE_STATUSES).",
        "line_revenue": f"line_amount when is_revenue, else 0; {MONEY}. Shipping and tax excluded.",
        "order_year": "Year of order_date.",
        "order_month": "Month (1-12) of order_date.",
        "product_category": "The product's category in the version valid at the order's time.",
        "customer_region": "The customer's region in the version valid at the order's time.",
        "customer_known": "False while the order's customer has no record yet (region 'unknown').",
        "product_known": "False while the line's product has no record yet (category 'uncategorized').",
        "landing_date": "Landing day of the order's current version.",
        "_source_file": "Landing file of the line.",
        "_source_row": "Row of the line in its landing file.",
        "_order_source_file": "Landing file of the order's current version.",
        "_order_source_row": "Row of the order's current version in its landing file.",
    },
    "silver/events_clean": {
        "business_date": "The event's date in the store's time zone: the table's partition.",
        "event_id": "The event's identifier, as exported.",
        "session_id": "The browsing session the event belongs to.",
        "event_seq": "Order of the counted event within its session on that date (1 = first); empty for duplicates.",
        "event_type": "page_view, product_view, add_to_cart, remove_from_cart, checkout_start or purchase.",
        "event_ts": "When the event happened (UTC).",
        "page_url": "Page URL, as exported.",
        "referrer_url": "Referrer URL, as exported.",
        "is_duplicate": "True for a later copy of an event id already received: kept, not counted.",
        "customer_id": "The customer, when the visitor was known.",
    },
    "silver/dimension_changes": {
        "landing_date": "The landing day whose run changed the dimension.",
        "entity": "customers or products.",
        "key": "The customer or product id whose versions changed.",
        "from_ts": "Facts from this time may see another version (empty: from the beginning).",
        "to_ts": "... until this time (empty: open-ended).",
    },
    "silver/restatements": {
        "landing_date": "The landing day whose run restated the dates.",
        "table_name": "The silver table restated.",
        "business_date": "A date of that table the run rewrote.",
    },
    "gold/daily_sales_summary": {
        "order_date": "The order date (same as business_date).",
        "product_category": "The product's category when the order was placed.",
        "total_revenue": f"Sum of line revenue, {MONEY}; shipping and tax excluded.",
        "unique_customers": "Distinct customers with revenue orders.",
        "units_sold": "Units on revenue orders.",
    },
    "gold/customer_lifetime_value": {
        "business_date": "The as-of day: the latest landing day processed.",
        "total_spent": f"Revenue of the customer's orders, {MONEY}.",
        "first_order_date": "Date of the customer's first revenue order.",
        "last_order_date": "Date of the customer's latest revenue order.",
        "days_since_first_order": "Days from the first order to the as-of day.",
        "days_since_last_order": "Days from the latest order to the as-of day (recency).",
        "r_score": "Recency score 1-5 by percentile rank of last_order_date (5 = most recent); ties share a score.",
        "f_score": "Frequency score 1-5 by percentile rank of total_orders.",
        "m_score": "Monetary score 1-5 by percentile rank of total_spent.",
        "rfm_segment": "Champions, Loyal, Potential Loyalist, New, Need Attention, At Risk, Hibernating or Lost.",
    },
    "gold/customer_order_days": {
        "order_date": "An order date on which the customer had revenue orders.",
        "orders": "Distinct revenue orders of the customer on that date, in that currency.",
        "revenue": "Line revenue of those orders, decimal(38, 2), in the order's currency.",
    },
    "gold/customer_totals": {
        "total_orders": "The customer's revenue orders in that currency, over every order date.",
        "total_spent": "Line revenue of those orders, decimal(38, 2), in the order's currency.",
        "first_order_date": "Date of the customer's first revenue order.",
        "last_order_date": "Date of the customer's latest revenue order.",
    },
    "gold/product_performance": {
        "business_date": "The date: orders by order date, views and carts by event date.",
        "product_name": "The product's name in its version valid at the end of the day.",
        "category": "The product's category in its version valid at the end of the day.",
        "currency": "Currency of the revenue ('' for a product with views but no sales that day).",
        "orders": "Distinct revenue orders with the product.",
        "units": "Units sold on revenue orders.",
        "revenue": f"Line revenue of the product, {MONEY}.",
        "revenue_rank_in_category": "Rank of the product's revenue within its category and currency that day (1 = best).",
        "product_views": "product_view events of counted (non-duplicate) events.",
        "add_to_carts": "add_to_cart events of counted events.",
        "view_to_purchase_rate": "orders / product_views; empty without views.",
    },
    "gold/conversion_funnel": {
        "business_date": "The event date.",
        "device_type": "Device type of the session's first event that day, or 'all'.",
        "sessions": "Sessions with at least one counted event that day.",
        "page_view_sessions": "Sessions that reached a page view (or any later stage).",
        "product_view_sessions": "Sessions that reached a product view (or any later stage).",
        "add_to_cart_sessions": "Sessions that reached add to cart (or any later stage).",
        "checkout_start_sessions": "Sessions that reached checkout (or purchase).",
        "purchase_sessions": "Sessions with a purchase.",
        "page_view_to_product_view_rate": "product_view_sessions / page_view_sessions.",
        "product_view_to_add_to_cart_rate": "add_to_cart_sessions / product_view_sessions.",
        "add_to_cart_to_checkout_start_rate": "checkout_start_sessions / add_to_cart_sessions.",
        "checkout_start_to_purchase_rate": "purchase_sessions / checkout_start_sessions.",
        "overall_conversion_rate": "purchase_sessions / sessions.",
    },
}


def describe(table: str, column: str) -> str:
    """The column's description (empty when none is written: a test keeps that from happening)."""
    return TABLES.get(table, {}).get(column) or SHARED.get(column, "")


def columns_markdown(schemas: dict[str, list[str]]) -> str:
    """The README's column table: ``schemas`` maps each table to its columns in order."""
    lines = ["| table | column | meaning |", "|---|---|---|"]
    for table, columns in schemas.items():
        for column in columns:
            lines.append(f"| {table} | {column} | {describe(table, column)} |")
    return "\n".join(lines)
