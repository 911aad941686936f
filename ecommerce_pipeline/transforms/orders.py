"""Orders that change: every version kept, one current state per order, facts by order date.

An order is sent again whenever it changes (processing -> shipped -> delivered, cancelled, refunded).
Every header row that arrives is a **version** of its order. Versions are ordered by their time
(``updated_at``, or ``order_ts`` when the export has none), then landing day, then file and row; the
latest valid version is the order's **current** state. The order lines sent with a version (same order
id, same landing day) are that version's line set; a version without lines (a status-only update)
keeps the line set of the latest version that had one. A line set is all or nothing: if any line of it
breaks a rule, here or in bronze, the version and all its lines go to quarantine and the order keeps
its previous state. An order id that arrives for two customers in one landing day is ``conflicting_order``:
every version of it that day, and the day's lines, go to quarantine.

``order_date`` is the order's timestamp in the store's time zone. Current rows carry the customer's
region and the product's category of the versions valid at the order's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ecommerce_pipeline.transforms.bronze import QUARANTINE_SCHEMA
from ecommerce_pipeline.transforms.dimensions import as_of_join_sql
from ecommerce_pipeline.transforms.sql import arrow, connect, literal

VERSION_ORDER = "version_ts, landing_date, _source_file, _source_row"
NEWEST_FIRST = "version_ts DESC, landing_date DESC, _source_file DESC, _source_row DESC"

HEADER_COLUMNS = (
    "order_id", "customer_id", "order_ts", "order_date", "status", "payment_method", "currency",
    "shipping_cost", "tax", "version_ts", "landing_date", "_source_file", "_source_row", "_batch_id",
    "line_count", "is_current", "lines_current",
)  # fmt: skip
LINE_COLUMNS = (
    "order_id", "line_number", "product_id", "quantity", "unit_price", "discount", "order_date",
    "version_landing_date", "version_source_file", "version_source_row", "_source_file", "_source_row", "_batch_id",
)  # fmt: skip

# What the as-of joins read of the dimension histories.
DIMENSION_COLUMNS = {
    "customers": ["customer_id", "region", "valid_from", "valid_to", "landing_date", "_source_file", "_source_row"],
    "products": ["product_id", "category", "valid_from", "valid_to", "landing_date", "_source_file", "_source_row"],
}


def local_date(ts: str, timezone: str) -> str:
    """SQL: the calendar date of a UTC timestamp in the store's time zone."""
    return f"CAST(timezone({literal(timezone)}, {ts}) AS DATE)"


@dataclass
class OrderBatch:
    headers: pa.Table  # valid versions that arrived in the run
    lines: pa.Table  # their line sets
    orders_quarantine: pa.Table
    lines_quarantine: pa.Table
    duplicate_lines_by_day: dict  # landing day -> line copies superseded by a later copy of the same day

    @property
    def duplicate_lines(self) -> int:
        return sum(self.duplicate_lines_by_day.values())


BATCH_STEPS = {
    "headers_in": """
SELECT o.*, coalesce(o.updated_at, o.order_ts) AS version_ts, o.business_date AS landing_date,
       {order_date} AS order_date
FROM orders o
""",
    # The line set of an order in a landing day belongs to the day's latest version of the order.
    "latest_of_day": """
SELECT business_date, order_id, _source_file, _source_row FROM headers_in
QUALIFY row_number() OVER (PARTITION BY business_date, order_id ORDER BY version_ts DESC, _source_file DESC, _source_row DESC) = 1
""",
    "items_d": """
SELECT *, count(*) OVER (PARTITION BY business_date, order_id, line_number) - 1 AS superseded
FROM order_items
QUALIFY row_number() OVER (PARTITION BY business_date, order_id, line_number ORDER BY _source_file DESC, _source_row DESC) = 1
""",
    "rejected_in_bronze": """
SELECT business_date, trim(json_extract_string(raw_record, '$.order_id'), ' \t\n\r\u00a0') AS order_id, count(*) AS lines
FROM items_rejected
WHERE json_valid(raw_record) AND json_extract_string(raw_record, '$.order_id') IS NOT NULL
GROUP BY ALL
""",
    "lines_checked": """
SELECT i.*, d._source_file AS version_source_file, d._source_row AS version_source_row,
       concat_ws('; ',
         CASE WHEN d.order_id IS NULL THEN 'line_without_order: order ' || i.order_id || ' is not in the day''s orders' END,
         CASE WHEN coalesce(i.discount, 0) > i.quantity * i.unit_price
              THEN 'discount_exceeds_amount: discount ' || i.discount || ' > ' || (i.quantity * i.unit_price) END
       ) AS line_failures
FROM items_d i
LEFT JOIN latest_of_day d ON d.business_date = i.business_date AND d.order_id = i.order_id
""",
    # One order id, two customers in one landing day: two different orders sharing an id, or a broken export.
    # Neither can be told from the other (nor whose lines the day's lines are), so every version of that id in
    # the day is held back; the order keeps the state it had before the day.
    # (min <> max finds them without a distinct count per order; only those few are then listed.)
    "conflicting": """
WITH ids AS (SELECT business_date, order_id FROM headers_in GROUP BY ALL HAVING min(customer_id) <> max(customer_id))
SELECT business_date, order_id, string_agg(DISTINCT customer_id, ', ' ORDER BY customer_id) AS customers
FROM ids JOIN headers_in USING (business_date, order_id) GROUP BY ALL
""",
    "headers_checked": """
WITH line_summary AS (
    SELECT business_date, order_id, version_source_file, version_source_row, count(*) AS lines,
           count(*) FILTER (WHERE line_failures <> '') AS bad_lines
    FROM lines_checked WHERE version_source_file IS NOT NULL GROUP BY ALL
)
SELECT h.*, coalesce(s.lines, 0) AS line_count,
       CASE WHEN c.order_id IS NOT NULL
              THEN 'conflicting_order: order ' || h.order_id || ' arrived for customers ' || c.customers
                   || ' in the same landing day; every version of it is held back'
            WHEN coalesce(s.bad_lines, 0) > 0
              THEN 'order_has_invalid_line: ' || s.bad_lines || ' line(s) of the order failed a rule'
            WHEN r.lines IS NOT NULL AND s.lines IS NOT NULL
              THEN 'order_has_invalid_line: ' || r.lines || ' line(s) of the order were rejected in bronze'
            WHEN r.lines IS NOT NULL
              THEN 'order_has_invalid_line: all ' || r.lines || ' line(s) of the order were rejected in bronze'
            ELSE '' END AS order_failures
FROM headers_in h
LEFT JOIN line_summary s ON s.business_date = h.business_date AND s.order_id = h.order_id
     AND s.version_source_file = h._source_file AND s.version_source_row = h._source_row
LEFT JOIN latest_of_day d ON d.business_date = h.business_date AND d.order_id = h.order_id
     AND d._source_file = h._source_file AND d._source_row = h._source_row
LEFT JOIN rejected_in_bronze r ON r.business_date = h.business_date AND r.order_id = h.order_id
     AND d.order_id IS NOT NULL
LEFT JOIN conflicting c ON c.business_date = h.business_date AND c.order_id = h.order_id
""",
}

# The steps that NEW_HEADERS, NEW_LINES and the two quarantines read.
FINAL_STEPS = ("headers_checked", "lines_checked")

NEW_HEADERS = """
SELECT order_id, customer_id, order_ts, order_date, lower(trim(status)) AS status,
       coalesce(lower(trim(payment_method)), 'unknown') AS payment_method,
       coalesce(upper(trim(currency)), $currency) AS currency,
       CAST(coalesce(shipping_cost, 0) AS DECIMAL(18, 2)) AS shipping_cost, CAST(coalesce(tax, 0) AS DECIMAL(18, 2)) AS tax,
       version_ts, landing_date, _source_file, _source_row, _batch_id, line_count,
       false AS is_current, false AS lines_current
FROM headers_checked WHERE order_failures = ''
"""

NEW_LINES = """
SELECT l.order_id, l.line_number, l.product_id, l.quantity, CAST(l.unit_price AS DECIMAL(18, 2)) AS unit_price,
       CAST(coalesce(l.discount, 0) AS DECIMAL(18, 2)) AS discount, h.order_date,
       l.business_date AS version_landing_date, l.version_source_file, l.version_source_row,
       l._source_file, l._source_row, l._batch_id
FROM lines_checked l
JOIN headers_checked h ON h.business_date = l.business_date AND h.order_id = l.order_id
     AND h._source_file = l.version_source_file AND h._source_row = l.version_source_row
WHERE h.order_failures = ''
"""

ORDERS_QUARANTINE = """
SELECT business_date, _source_file, _source_row, _batch_id, _ingested_at,
       split_part(order_failures, ':', 1) AS rule, order_failures AS detail,
       to_json(struct_pack(order_id, customer_id, order_ts, status, payment_method, currency, shipping_cost, tax))::VARCHAR AS raw_record
FROM headers_checked WHERE order_failures <> ''
ORDER BY _source_file, _source_row
"""

LINES_QUARANTINE = """
SELECT l.business_date, l._source_file, l._source_row, l._batch_id, l._ingested_at,
       split_part(f.failures, ':', 1) AS rule, f.failures AS detail,
       to_json(struct_pack(l.order_id, l.line_number, l.product_id, l.quantity, l.unit_price, l.discount))::VARCHAR AS raw_record
FROM lines_checked l
LEFT JOIN headers_checked h ON h.business_date = l.business_date AND h.order_id = l.order_id
     AND h._source_file = l.version_source_file AND h._source_row = l.version_source_row
CROSS JOIN LATERAL (SELECT CASE WHEN l.line_failures <> '' THEN l.line_failures
                                ELSE 'order_rejected: order ' || l.order_id || ' failed: ' || h.order_failures END AS failures) f
WHERE l.line_failures <> '' OR h.order_failures <> ''
ORDER BY l._source_file, l._source_row
"""


def order_batch(
    orders: pa.Table,
    order_items: pa.Table,
    items_rejected_in_bronze: pa.Table,
    timezone: str = "UTC",
    default_currency: str = "USD",
) -> OrderBatch:
    """Validate the run's bronze orders and lines into versions; inputs are of the same landing days."""
    con = connect()
    con.register("orders", orders)
    con.register("order_items", order_items)
    con.register("items_rejected", items_rejected_in_bronze.select(["business_date", "raw_record"]))
    steps = {}  # kept referenced while the connection reads them
    for name, sql in BATCH_STEPS.items():
        steps[name] = arrow(con, sql.format(order_date=local_date("o.order_ts", timezone)))
        con.register(name, steps[name])
    dup_lines = con.execute("SELECT business_date, sum(superseded) FROM items_d GROUP BY ALL").fetchall()
    # What follows reads only the checked headers and lines: the other steps (copies of the day's orders and
    # lines among them) go before the versions are made, so a large day holds fewer copies of itself.
    for name in [n for n in steps if n not in FINAL_STEPS]:
        con.unregister(name)
        del steps[name]
    headers = arrow(con, NEW_HEADERS, {"currency": default_currency})
    lines = arrow(con, NEW_LINES)
    orders_q = arrow(con, ORDERS_QUARANTINE).cast(QUARANTINE_SCHEMA)
    lines_q = arrow(con, LINES_QUARANTINE).cast(QUARANTINE_SCHEMA)
    con.close()
    return OrderBatch(headers, lines, orders_q, lines_q, {day: int(n) for day, n in dup_lines if n})


# The current order lines: each order's current header (``is_current``) with the line set of its latest
# version that had one (``lines_current``), over relations named headers and lines.
CURRENT_SQL = """
SELECT h.order_id, l.line_number, h.customer_id, l.product_id, l.quantity, l.unit_price, l.discount,
       h.order_ts, h.order_date, h.status, h.payment_method, h.currency, h.shipping_cost, h.tax,
       h.landing_date, l._source_file, l._source_row, h._source_file AS _order_source_file,
       h._source_row AS _order_source_row, l._batch_id
FROM headers h
JOIN headers lh ON lh.order_id = h.order_id AND lh.lines_current
JOIN lines l ON l.order_id = lh.order_id AND l.version_landing_date = lh.landing_date
     AND l.version_source_file = lh._source_file AND l.version_source_row = lh._source_row
WHERE h.is_current
"""


@dataclass
class MergedVersions:
    headers: pa.Table  # every version of the loaded dates, flags recomputed for the touched orders
    lines: pa.Table
    current: pa.Table  # line-grain current state of the touched orders (before dimensions)


def merge_versions(
    stored_headers: pa.Table | None,
    stored_lines: pa.Table | None,
    batch: OrderBatch,
    landing_days: list,
    touched: list[str],
) -> MergedVersions:
    """Replace the run's landing days in the stored versions (of the loaded dates) with the batch, and
    recompute which version is current for every touched order. Every version of a touched order must be
    among the stored rows given (the caller loads every date where those orders have versions)."""
    con = connect()
    con.register("new_h", batch.headers)
    con.register("new_l", batch.lines)
    con.register("stored_h", stored_headers if stored_headers is not None else batch.headers.slice(0, 0))
    con.register("stored_l", stored_lines if stored_lines is not None else batch.lines.slice(0, 0))
    con.register("days", pa.table({"day": pa.array(landing_days, pa.date32())}))
    con.register("touched", pa.table({"order_id": pa.array(touched, pa.string())}))
    headers = arrow(
        con,
        f"""
        WITH all_h AS (
            SELECT * FROM stored_h WHERE landing_date NOT IN (SELECT day FROM days)
            UNION ALL BY NAME SELECT * FROM new_h
        ), flagged AS (
            SELECT *, order_id IN (SELECT order_id FROM touched) AS _touched,
                   row_number() OVER (PARTITION BY order_id ORDER BY {NEWEST_FIRST}) = 1 AS _latest,
                   line_count > 0 AND row_number() OVER (
                       PARTITION BY order_id, line_count > 0 ORDER BY {NEWEST_FIRST}) = 1 AS _lines_latest
            FROM all_h
        )
        SELECT * EXCLUDE (_touched, _latest, _lines_latest, is_current, lines_current),
               CASE WHEN _touched THEN _latest ELSE is_current END AS is_current,
               CASE WHEN _touched THEN _lines_latest ELSE lines_current END AS lines_current
        FROM flagged
        ORDER BY order_date, order_id, {VERSION_ORDER}
        """,
    )
    con.register("headers", headers)
    lines = arrow(
        con,
        """
        SELECT * FROM stored_l WHERE version_landing_date NOT IN (SELECT day FROM days)
        UNION ALL BY NAME SELECT * FROM new_l
        ORDER BY order_date, order_id, version_landing_date, version_source_file, version_source_row, line_number
        """,
    )
    con.register("lines", lines)
    current = arrow(con, CURRENT_SQL + " AND h.order_id IN (SELECT order_id FROM touched)")
    con.close()
    return MergedVersions(headers, lines, current)


RESOLVED_SELECT = """
SELECT r.order_date AS business_date, r.order_id, r.line_number, r.customer_id, r.product_id,
       r.quantity, r.unit_price, r.discount,
       CAST(r.quantity * r.unit_price - r.discount AS DECIMAL(18, 2)) AS line_amount,
       NOT list_contains($non_revenue, r.status) AS is_revenue,
       CAST(CASE WHEN list_contains($non_revenue, r.status) THEN 0
                 ELSE r.quantity * r.unit_price - r.discount END AS DECIMAL(18, 2)) AS line_revenue,
       r.order_ts, r.order_date, year(r.order_date)::INTEGER AS order_year, month(r.order_date)::INTEGER AS order_month,
       r.status, r.payment_method, r.currency, r.shipping_cost, r.tax,
       coalesce({category}, 'uncategorized') AS product_category, coalesce({region}, 'unknown') AS customer_region,
       {customer_known}, {product_known},
       r.landing_date, r._source_file, r._source_row, r._order_source_file, r._order_source_row, r._batch_id
"""


def resolve_steps(rows: str, customers: str, products: str) -> dict[str, str]:
    """The SQL from current order lines (relation ``rows``) to orders_validated rows, as named steps: each
    reads the one before it by its name (``r1``, ``r``); the last takes the parameter ``$non_revenue``."""
    c_from, c_select = as_of_join_sql(rows, customers, "customer_id", "customer_id", "order_ts", {"region": "region"})
    p_from, p_select = as_of_join_sql("r1", products, "product_id", "product_id", "order_ts", {"category": "category"})
    resolved = RESOLVED_SELECT.format(
        category="r.category", region="r.region", customer_known="r.customer_known", product_known="r.product_known"
    )
    return {
        "r1": f"SELECT {rows}.*, {c_select} FROM {c_from}",
        "r": f"SELECT r1.*, {p_select} FROM {p_from}",
        "resolved": resolved + " FROM r ORDER BY business_date, order_id, line_number",
    }


def resolve_dimensions(
    rows: pa.Table, customers: pa.Table, products: pa.Table, non_revenue_statuses: tuple[str, ...]
) -> pa.Table:
    """Current order lines with revenue and the customer's region and product's category as of the order."""
    return resolve_handed_over([rows], customers, products, non_revenue_statuses)


def resolve_handed_over(
    rows: list[pa.Table], customers: pa.Table, products: pa.Table, non_revenue_statuses: tuple[str, ...]
) -> pa.Table:
    """``resolve_dimensions`` of the one table in ``rows``, emptying ``rows``: a caller that holds no other
    reference to the table lets it go once the last statement has read it.

    The as-of joins of ``resolve_steps`` run over the columns they read (each row's place, its customer,
    product and time), not over whole rows: DuckDB sorts both sides of an as-of join, and sorting 885,249 wide
    lines took 2.2 s where their keys took 1.0 s. Each join gives every row exactly one row (at most one
    version valid at its time, at most one first version), so the dimension columns are put back beside the
    rows in their places, and the last statement reads the rows once."""
    table = rows.pop()
    con = connect()
    keys = table.select(["customer_id", "product_id", "order_ts"])
    con.register("r0", keys.append_column("_pos", pa.array(np.arange(table.num_rows, dtype=np.int64))))
    con.register("customers", customers)
    con.register("products", products)
    *joins, (_, resolved) = resolve_steps("r0", "customers", "products").items()
    steps = []  # kept referenced while the connection reads them
    for name, sql in joins:
        steps.append(arrow(con, sql))
        con.register(name, steps[-1])
    last = joins[-1][0]
    found = arrow(con, f"SELECT * EXCLUDE (_pos, {', '.join(keys.column_names)}) FROM {last} ORDER BY _pos")
    del steps
    if found.num_rows != table.num_rows:  # never: a join that repeated a line would repeat its revenue
        raise RuntimeError(f"as-of joins gave {found.num_rows} rows for {table.num_rows} order lines")
    for field, column in zip(found.schema, found.columns):
        table = table.append_column(field, column)
    con.register("r", table)
    del table
    resolved_rows = arrow(con, resolved, {"non_revenue": list(non_revenue_statuses)})
    con.close()
    return resolved_rows


# What a stored current row keeps when its dimensions are resolved again.
UNRESOLVED_COLUMNS = [
    "order_id", "line_number", "customer_id", "product_id", "quantity", "unit_price", "discount", "order_ts",
    "order_date", "status", "payment_method", "currency", "shipping_cost", "tax", "landing_date", "_source_file",
    "_source_row", "_order_source_file", "_order_source_row", "_batch_id",
]  # fmt: skip
