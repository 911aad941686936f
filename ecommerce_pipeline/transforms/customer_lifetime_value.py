"""customer_lifetime_value: every customer's orders and spend, with RFM scores and segments.

One row per customer (and currency: spend in different currencies is never added up), as of the latest
landing day processed (``business_date``). It is computed from the current state of every order, so an
order counts once in its latest status whatever day its versions arrived; replaying days in any order
gives the same table. Scores are 1-5 by percentile rank among the customers, so ties share a score.

Two ways to the same rows: ``customer_lifetime_value`` runs the whole SQL over every order line (Athena does,
and the tests use it as the reference); ``from_order_days`` starts from each customer's figures per order
date (``order_days``: revenue orders and revenue of one customer, currency and date), which a nightly run
keeps up to date by recomputing only the dates whose orders changed. Both take the grouping of lines into
orders and the scoring from the one SQL text, so they cannot drift apart.
"""

from __future__ import annotations

import tempfile
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from ecommerce_pipeline.transforms.sql import athena_sql, connect, duckdb_sql, literal, own_database, quote

# The whole order history streams through DuckDB in batches; what its aggregation holds beyond this spills
# to a temporary folder, so the table's memory stays the same after years of orders (the cost is disk I/O).
MEMORY_LIMIT = "256MB"

# The orders_validated columns the table is computed from, with their silver types.
HISTORY_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("order_date", pa.date32()),
        ("currency", pa.string()),
        ("line_revenue", pa.decimal128(18, 2)),
        ("is_revenue", pa.bool_()),
    ]
)
HISTORY_COLUMNS = HISTORY_SCHEMA.names

# The Athena-dialect text, with the local relation names, transpiled to DuckDB: the whole computation.
CLV_SQL = duckdb_sql("customer_lifetime_value", orders="orders", as_of="as_of")

# A customer's revenue orders and revenue on one order date: what the table is summed from.
DAYS_SCHEMA = pa.schema(
    [
        ("order_date", pa.date32()),
        ("customer_id", pa.string()),
        ("currency", pa.string()),
        ("orders", pa.int64()),
        ("revenue", pa.decimal128(38, 2)),
    ]
)

# Each customer's lifetime figures per currency, kept up to date from the order days' changes: what the
# table is scored from, one row per customer instead of one per customer and order date.
TOTALS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("currency", pa.string()),
        ("total_orders", pa.int64()),
        ("total_spent", pa.decimal128(38, 2)),
        ("first_order_date", pa.date32()),
        ("last_order_date", pa.date32()),
    ]
)
TOTALS_SQL = (
    "SELECT customer_id, currency, CAST(sum(orders) AS BIGINT) AS total_orders, "
    "CAST(sum(revenue) AS DECIMAL(38, 2)) AS total_spent, min(order_date) AS first_order_date, "
    "max(order_date) AS last_order_date FROM order_days GROUP BY customer_id, currency"
)

# A night's change to the totals: every key the changed dates had rows of before (``old_days``) or have now
# (``new_days``) gets its counts and revenue moved by the difference. Its first and last order dates are
# known unless the date they were is one of the changed ``dates`` and has no row any more (the customer's
# first or last orders were cancelled): those customers are summed again from their order days.
UPDATE_TOTALS_SQL = """
    WITH o AS (
        SELECT customer_id, currency, sum(orders) AS orders, sum(revenue) AS revenue FROM old_days GROUP BY ALL
    ), n AS (
        SELECT customer_id, currency, sum(orders) AS orders, sum(revenue) AS revenue,
               min(order_date) AS first_date, max(order_date) AS last_date
        FROM new_days GROUP BY ALL
    ), k AS (
        SELECT customer_id, currency FROM o UNION SELECT customer_id, currency FROM n
    ), still_there AS (
        SELECT customer_id, currency, order_date FROM new_days
    )
    SELECT t.customer_id, t.currency, t.total_orders, t.total_spent, t.first_order_date, t.last_order_date,
           true AS dates_known
    FROM totals t ANTI JOIN k ON t.customer_id = k.customer_id AND t.currency = k.currency
    UNION ALL
    SELECT k.customer_id, k.currency,
           CAST(coalesce(t.total_orders, 0) - coalesce(o.orders, 0) + coalesce(n.orders, 0) AS BIGINT),
           CAST(coalesce(t.total_spent, 0) - coalesce(o.revenue, 0) + coalesce(n.revenue, 0) AS DECIMAL(38, 2)),
           least(t.first_order_date, n.first_date),
           greatest(t.last_order_date, n.last_date),
           (t.first_order_date IS NULL OR t.first_order_date NOT IN (SELECT d FROM dates)
                OR (k.customer_id, k.currency, t.first_order_date) IN (SELECT * FROM still_there))
           AND (t.last_order_date IS NULL OR t.last_order_date NOT IN (SELECT d FROM dates)
                OR (k.customer_id, k.currency, t.last_order_date) IN (SELECT * FROM still_there))
    FROM k
    LEFT JOIN totals t ON t.customer_id = k.customer_id AND t.currency = k.currency
    LEFT JOIN o ON o.customer_id = k.customer_id AND o.currency = k.currency
    LEFT JOIN n ON n.customer_id = k.customer_id AND n.currency = k.currency
    WHERE coalesce(t.total_orders, 0) - coalesce(o.orders, 0) + coalesce(n.orders, 0) > 0
"""


def _parsed() -> tuple[exp.Expression, dict[str, exp.CTE]]:
    """The SQL text parsed, and its common table expressions by name."""
    tree = sqlglot.parse_one(athena_sql("customer_lifetime_value", orders="orders", as_of="as_of"), read="athena")
    return tree, {c.alias: c for c in list(tree.find_all(exp.CTE))}


def _order_days_sql() -> str:
    # The SQL's own grouping of lines into orders (revenue lines only, an order on its date), then per date.
    orders = _parsed()[1]["orders_of_customers"]
    return (
        f"SELECT order_date, customer_id, currency, count(*) AS orders, CAST(sum(revenue) AS DECIMAL(38, 2)) AS revenue "
        f"FROM ({orders.this.sql(dialect='duckdb')}) GROUP BY order_date, customer_id, currency"
    )


def _scores_sql(totals: str) -> str:
    # The SQL with its per-customer totals taken from ``totals`` (a SELECT) instead of summed from the order
    # lines. An order lies on one date (the current state has one order date per order), so counting orders per
    # date and adding the counts up counts each order once.
    tree, ctes = _parsed()
    ctes["totals"].set("this", sqlglot.parse_one(totals, read="duckdb"))
    ctes["orders_of_customers"].pop()
    return tree.sql(dialect="duckdb")


ORDER_DAYS_SQL = _order_days_sql()
_SCORED_COLUMNS = (
    "customer_id, currency, total_orders, CAST(total_spent AS DECIMAL(18, 2)) AS total_spent, first_order_date, "
    "last_order_date"
)
SCORES_SQL = _scores_sql(f"SELECT {_SCORED_COLUMNS} FROM ({TOTALS_SQL})")
TOTALS_SCORES_SQL = _scores_sql(f"SELECT {_SCORED_COLUMNS} FROM customer_totals")

RFM_SEGMENTS = ("Champions", "New", "Loyal", "Potential Loyalist", "At Risk", "Hibernating", "Lost", "Need Attention")


Rows = pa.Table | pa.RecordBatchReader | list[str]


def customer_lifetime_value(orders: Rows, as_of: date) -> pa.Table:
    """The table from the current order lines (at least HISTORY_COLUMNS) of every order date."""
    return _run(CLV_SQL, "orders", orders, HISTORY_SCHEMA, as_of)


def order_days(orders: Rows) -> pa.Table:
    """Each customer's revenue orders and revenue per order date and currency, from the current order lines
    of those dates (every line of an order: an order is counted on its date)."""
    return _run(ORDER_DAYS_SQL, "orders", orders, HISTORY_SCHEMA).cast(DAYS_SCHEMA)


def from_order_days(days: Rows, as_of: date) -> pa.Table:
    """The table from ``order_days`` of every order date: the same rows as ``customer_lifetime_value``."""
    return _run(SCORES_SQL, "order_days", days, DAYS_SCHEMA, as_of)


def totals(days: Rows) -> pa.Table:
    """Each customer's lifetime figures per currency from ``order_days`` of every order date."""
    return _run(TOTALS_SQL, "order_days", days, DAYS_SCHEMA).cast(TOTALS_SCHEMA)


def from_totals(customer_totals: pa.Table, as_of: date) -> pa.Table:
    """The table from ``totals``: the same rows as ``customer_lifetime_value``."""
    return _run(TOTALS_SCORES_SQL, "customer_totals", customer_totals, TOTALS_SCHEMA, as_of)


def updated_totals(
    customer_totals: pa.Table, old_days: pa.Table, new_days: pa.Table, dates: list[date]
) -> tuple[pa.Table, list[str]]:
    """The totals after the order days of ``dates`` changed from ``old_days`` to ``new_days``: the rows known
    from the difference alone, and the customers whose first or last order date left with a changed date's
    rows, to be summed again from their order days (their rows are not in the first table)."""
    con = connect()
    try:
        for name, rows, schema in (
            ("totals", customer_totals, TOTALS_SCHEMA),
            ("old_days", old_days, DAYS_SCHEMA),
            ("new_days", new_days, DAYS_SCHEMA),
        ):
            con.register(name, rows.select(schema.names).cast(schema))
        con.register("dates", pa.table({"d": pa.array(sorted(set(dates)), pa.date32())}))
        result = con.sql(UPDATE_TOTALS_SQL).to_arrow_table()
    finally:
        con.close()
    known = result.column("dates_known")
    unknown = sorted(set(result.filter(pc.invert(known)).column("customer_id").to_pylist()))
    kept = result.filter(
        pc.and_(known, pc.invert(pc.is_in(result.column("customer_id"), pa.array(unknown, pa.string()))))
    )
    return kept.select(TOTALS_SCHEMA.names).cast(TOTALS_SCHEMA), unknown


def _run(sql: str, name: str, rows: Rows, schema: pa.Schema, as_of: date | None = None) -> pa.Table:
    """``rows``: a table, a stream of record batches (read once, never held whole) or the Parquet files that
    hold them, visible to ``sql`` as ``name``."""
    con = own_database()  # its memory limit and spill folder are settings of the whole database
    spill = tempfile.TemporaryDirectory(prefix="clv-")
    try:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"SET temp_directory = '{spill.name}'")
        con.execute("SET preserve_insertion_order = false")
        if isinstance(rows, list) and rows:
            # DuckDB reads only the columns needed, on every core, without passing each batch through Python.
            # It matches them by name in each file; every file of these tables has them.
            listed = ", ".join(literal(f) for f in rows)
            columns = ", ".join(quote(c) for c in schema.names)
            con.execute(f"CREATE VIEW {name} AS SELECT {columns} FROM read_parquet([{listed}])")
        else:
            con.register(name, schema.empty_table() if isinstance(rows, list) else rows)
        if as_of is not None:
            con.register("as_of", pa.table({"as_of": pa.array([as_of], pa.date32())}))
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()
        spill.cleanup()


def output_schema() -> pa.Schema:
    """The table's columns and types, whichever engine computes it: what the local engine gives for no rows."""
    return customer_lifetime_value(HISTORY_SCHEMA.empty_table(), date(2000, 1, 1)).schema
