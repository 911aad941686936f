"""orders_validated: one row per order line, joined with its order and checked against the dimensions.

Per day, orders are deduplicated by order id and lines by (order id, line number), keeping the latest.
An order is all or nothing: if it or any of its lines breaks a rule, the order and all its lines go to
quarantine, each with the rule it broke (or the reason it was held back with the others).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ecommerce_pipeline.transforms.bronze import QUARANTINE_SCHEMA
from ecommerce_pipeline.transforms.sql import arrow, connect


@dataclass
class OrdersResult:
    table: pa.Table
    orders_quarantine: pa.Table
    lines_quarantine: pa.Table
    duplicate_orders: int
    duplicate_lines: int


# What the checks against the day's dimension snapshots read of them.
DIMENSION_COLUMNS = {
    "customers": ["business_date", "customer_id", "region"],
    "products": ["business_date", "product_id", "category"],
}

# Each step's result is held as Arrow and registered for the next (a DuckDB temp table would be
# compressed on the way in, which costs more than it saves here).
STEPS = {
    "orders_d": """
SELECT *, count(*) OVER (PARTITION BY business_date, order_id) - 1 AS superseded
FROM orders
QUALIFY row_number() OVER (PARTITION BY business_date, order_id
                           ORDER BY order_ts DESC, _source_file DESC, _source_row DESC) = 1
""",
    "items_d": """
SELECT *, count(*) OVER (PARTITION BY business_date, order_id, line_number) - 1 AS superseded
FROM order_items
QUALIFY row_number() OVER (PARTITION BY business_date, order_id, line_number
                           ORDER BY _source_file DESC, _source_row DESC) = 1
""",
    "lines_checked": """
SELECT i.*, p.category AS product_category,
       concat_ws('; ',
         CASE WHEN o.order_id IS NULL THEN 'line_without_order: order ' || i.order_id || ' is not in the day''s orders' END,
         CASE WHEN p.product_id IS NULL THEN 'unknown_product: product ' || i.product_id || ' is not in products_clean' END,
         CASE WHEN coalesce(i.discount, 0) > i.quantity * i.unit_price
              THEN 'discount_exceeds_amount: discount ' || i.discount || ' > ' || (i.quantity * i.unit_price) END
       ) AS line_failures
FROM items_d i
LEFT JOIN orders_d o ON o.business_date = i.business_date AND o.order_id = i.order_id
LEFT JOIN products p ON p.business_date = i.business_date AND p.product_id = i.product_id
""",
    "orders_checked": """
WITH line_summary AS (
    SELECT business_date, order_id, count(*) AS lines, count(*) FILTER (WHERE line_failures <> '') AS bad_lines
    FROM lines_checked GROUP BY ALL
), own AS (
    SELECT o.*, c.region AS customer_region, coalesce(s.bad_lines, 0) AS bad_lines,
           concat_ws('; ',
             CASE WHEN c.customer_id IS NULL THEN 'unknown_customer: customer ' || o.customer_id || ' is not in customers_clean' END,
             CASE WHEN s.lines IS NULL THEN 'order_without_lines: no lines for order ' || o.order_id END
           ) AS own_failures
    FROM orders_d o
    LEFT JOIN customers c ON c.business_date = o.business_date AND c.customer_id = o.customer_id
    LEFT JOIN line_summary s ON s.business_date = o.business_date AND s.order_id = o.order_id
)
SELECT *, CASE WHEN own_failures <> '' THEN own_failures
               WHEN bad_lines > 0 THEN 'order_has_invalid_line: ' || bad_lines || ' line(s) of the order failed a rule'
               ELSE '' END AS order_failures
FROM own
""",
}

VALID_SQL = """
SELECT l.business_date, l.order_id, l.line_number, o.customer_id, l.product_id,
       l.quantity, l.unit_price, coalesce(l.discount, 0) AS discount,
       l.quantity * l.unit_price - coalesce(l.discount, 0) AS line_amount,
       NOT list_contains($non_revenue, lower(o.status)) AS is_revenue,
       CASE WHEN list_contains($non_revenue, lower(o.status)) THEN 0
            ELSE l.quantity * l.unit_price - coalesce(l.discount, 0) END AS line_revenue,
       o.order_ts, CAST(o.order_ts AS DATE) AS order_date,
       year(o.order_ts)::INTEGER AS order_year, month(o.order_ts)::INTEGER AS order_month,
       lower(trim(o.status)) AS status, coalesce(lower(trim(o.payment_method)), 'unknown') AS payment_method,
       coalesce(upper(trim(o.currency)), $currency) AS currency,
       coalesce(o.shipping_cost, 0) AS shipping_cost, coalesce(o.tax, 0) AS tax,
       l.product_category, o.customer_region,
       l._source_file, l._source_row, o._source_file AS _order_source_file, o._source_row AS _order_source_row,
       l._batch_id
FROM lines_checked l
JOIN orders_checked o ON o.business_date = l.business_date AND o.order_id = l.order_id
WHERE l.line_failures = '' AND o.order_failures = ''
ORDER BY l.business_date, l.order_id, l.line_number
"""

QUARANTINE_SQL = """
SELECT business_date, _source_file, _source_row, _batch_id, _ingested_at,
       split_part(failures, ':', 1) AS rule, failures AS detail, raw_record
FROM ({inner})
ORDER BY _source_file, _source_row
"""

ORDERS_QUARANTINE = """
SELECT business_date, _source_file, _source_row, _batch_id, _ingested_at, order_failures AS failures,
       to_json(struct_pack(order_id, customer_id, order_ts, status, payment_method, currency, shipping_cost, tax))::VARCHAR AS raw_record
FROM orders_checked WHERE order_failures <> ''
"""

LINES_QUARANTINE = """
SELECT l.business_date, l._source_file, l._source_row, l._batch_id, l._ingested_at,
       CASE WHEN l.line_failures <> '' THEN l.line_failures
            ELSE 'order_rejected: order ' || l.order_id || ' failed: ' || o.order_failures END AS failures,
       to_json(struct_pack(l.order_id, l.line_number, l.product_id, l.quantity, l.unit_price, l.discount))::VARCHAR AS raw_record
FROM lines_checked l
LEFT JOIN orders_checked o ON o.business_date = l.business_date AND o.order_id = l.order_id
WHERE l.line_failures <> '' OR o.order_failures <> ''
"""


def orders_validated(
    orders: pa.Table,
    order_items: pa.Table,
    customers: pa.Table,
    products: pa.Table,
    non_revenue_statuses: tuple[str, ...],
    default_currency: str = "USD",
) -> OrdersResult:
    """Inputs are bronze orders and lines and the dimension snapshots, all for the same business days."""
    con = connect()
    for name, table in {
        "orders": orders,
        "order_items": order_items,
        "customers": customers,
        "products": products,
    }.items():
        con.register(name, table)
    steps = {}  # kept referenced while the connection reads them
    for name, sql in STEPS.items():
        steps[name] = arrow(con, sql)
        con.register(name, steps[name])
    table = arrow(con, VALID_SQL, {"non_revenue": list(non_revenue_statuses), "currency": default_currency})
    orders_q = arrow(con, QUARANTINE_SQL.format(inner=ORDERS_QUARANTINE)).cast(QUARANTINE_SCHEMA)
    lines_q = arrow(con, QUARANTINE_SQL.format(inner=LINES_QUARANTINE)).cast(QUARANTINE_SCHEMA)
    dup_orders, dup_lines = con.execute(
        "SELECT (SELECT coalesce(sum(superseded), 0) FROM orders_d), (SELECT coalesce(sum(superseded), 0) FROM items_d)"
    ).fetchone()
    con.close()
    return OrdersResult(table, orders_q, lines_q, int(dup_orders), int(dup_lines))
