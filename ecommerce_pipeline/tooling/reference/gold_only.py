"""Reference "gold only": one day's CSV files in, the four gold tables out, with only the rules that decide
what gold counts. A record whose required field is missing or unreadable, or whose amount breaks its rule
or bound, is left out; an order with such a line is left out whole, as are lines without a valid order;
copies of a line or event count once. Unlike the pipeline it reads the day alone (no earlier versions of
an order, no dimension history: each line takes the latest record of its customer and product of the day)
and keeps no bronze, quarantine or silver."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ecommerce_pipeline.contract import EVENT_TYPES, MAX_LINE_NUMBER, MAX_MONEY, MAX_QUANTITY
from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.tooling.reference import landing_files, read_csv, write_gold
from ecommerce_pipeline.transforms.orders import local_date
from ecommerce_pipeline.transforms.sql import connect, literal


def _plausible(ts: str) -> str:
    return f"{ts} >= TIMESTAMPTZ '2000-01-01 00:00:00+00' AND {ts} < $day + INTERVAL 2 DAY"


def _sql(landing: Path, day: date, timezone: str) -> dict[str, str]:
    files = {e: read_csv(landing_files(landing, e, day), filename="true") for e in ("orders", "order_items")}
    files |= {e: read_csv(landing_files(landing, e, day)) for e in ("customers", "products", "events")}
    money = "DECIMAL(18, 2)"
    event_types = ", ".join(map(literal, EVENT_TYPES))
    return {
        "orders": f"""
            WITH typed AS (
                SELECT NULLIF(trim(order_id), '') AS order_id, NULLIF(trim(customer_id), '') AS customer_id,
                       TRY_CAST(order_ts AS TIMESTAMPTZ) AS order_ts, lower(trim(status)) AS status,
                       coalesce(upper(NULLIF(trim(currency), '')), $currency) AS currency,
                       TRY_CAST(NULLIF(trim(updated_at), '') AS TIMESTAMPTZ) AS updated_at, filename
                FROM {files["orders"]}
            )
            SELECT *, {local_date("order_ts", timezone)} AS order_date FROM typed
            WHERE order_id IS NOT NULL AND customer_id IS NOT NULL AND NULLIF(status, '') IS NOT NULL
              AND {_plausible("order_ts")}
              AND order_id NOT IN (
                  SELECT order_id FROM typed WHERE order_id IS NOT NULL GROUP BY ALL HAVING min(customer_id) <> max(customer_id)
              )
            QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY coalesce(updated_at, order_ts) DESC, filename DESC) = 1
        """,
        "lines": f"""
            SELECT NULLIF(trim(order_id), '') AS order_id, TRY_CAST(line_number AS BIGINT) AS line_number,
                   NULLIF(trim(product_id), '') AS product_id, TRY_CAST(quantity AS BIGINT) AS quantity,
                   TRY_CAST(unit_price AS {money}) AS unit_price,
                   coalesce(TRY_CAST(NULLIF(trim(discount), '') AS {money}), 0) AS discount,
                   NULLIF(trim(discount), '') IS NOT NULL AND TRY_CAST(NULLIF(trim(discount), '') AS {money}) IS NULL AS bad_discount
            FROM {files["order_items"]}
            WHERE NULLIF(trim(order_id), '') IS NOT NULL
        """,
        "products_clean": f"""
            SELECT *, lead(valid_from) OVER (PARTITION BY product_id ORDER BY valid_from, _source_row) AS valid_to
            FROM (
                SELECT trim(product_id) AS product_id, coalesce(NULLIF(trim(product_name), ''), trim(product_id)) AS product_name,
                       coalesce(lower(NULLIF(trim(category), '')), 'uncategorized') AS category,
                       coalesce(TRY_CAST(updated_at AS TIMESTAMPTZ), CAST($day AS TIMESTAMPTZ)) AS valid_from,
                       $day AS landing_date, '' AS _source_file, row_number() OVER () AS _source_row
                FROM {files["products"]} WHERE NULLIF(trim(product_id), '') IS NOT NULL
            )
        """,
        "orders_validated": f"""
            WITH checked AS (
                SELECT DISTINCT * FROM lines
            ), bad AS (
                SELECT DISTINCT order_id FROM checked
                WHERE NOT coalesce(line_number BETWEEN 1 AND {MAX_LINE_NUMBER} AND product_id IS NOT NULL
                      AND quantity BETWEEN 1 AND {MAX_QUANTITY} AND unit_price > 0 AND unit_price <= {MAX_MONEY}
                      AND NOT bad_discount AND discount BETWEEN 0 AND least(quantity * unit_price, {MAX_MONEY}), false)
            ), customers AS (
                SELECT trim(customer_id) AS customer_id,
                       arg_max(coalesce(NULLIF(trim(state), ''), NULLIF(trim(country), ''), 'unknown'),
                               TRY_CAST(updated_at AS TIMESTAMPTZ)) AS region
                FROM {files["customers"]} WHERE NULLIF(trim(customer_id), '') IS NOT NULL GROUP BY ALL
            )
            SELECT o.order_date AS business_date, o.order_date, coalesce(p.category, 'uncategorized') AS product_category,
                   coalesce(c.region, 'unknown') AS customer_region, o.currency, o.order_id, o.customer_id,
                   l.product_id, l.quantity, NOT list_contains($non_revenue, o.status) AS is_revenue,
                   CAST(CASE WHEN list_contains($non_revenue, o.status) THEN 0
                             ELSE l.quantity * l.unit_price - l.discount END AS {money}) AS line_revenue
            FROM checked l
            JOIN orders o ON o.order_id = l.order_id
            LEFT JOIN customers c ON c.customer_id = o.customer_id
            LEFT JOIN (SELECT product_id, category FROM products_clean WHERE valid_to IS NULL) p ON p.product_id = l.product_id
            WHERE l.order_id NOT IN (SELECT order_id FROM bad)
        """,
        "events_clean": f"""
            WITH typed AS (
                SELECT NULLIF(trim(event_id), '') AS event_id, NULLIF(trim(session_id), '') AS session_id,
                       lower(trim(event_type)) AS event_type, TRY_CAST(event_ts AS TIMESTAMPTZ) AS event_ts,
                       NULLIF(trim(product_id), '') AS product_id,
                       coalesce(lower(NULLIF(trim(device_type), '')), 'unknown') AS device_type
                FROM {files["events"]}
            ), dated AS (
                SELECT *, {local_date("event_ts", timezone)} AS business_date FROM typed
                WHERE event_id IS NOT NULL AND session_id IS NOT NULL AND event_type IN ({event_types})
                  AND {_plausible("event_ts")}
                QUALIFY row_number() OVER (PARTITION BY business_date, event_id) = 1
            )
            SELECT *, row_number() OVER (PARTITION BY business_date, session_id ORDER BY event_ts, event_id) AS event_seq
            FROM dated
        """,
    }


def run(landing: Path, day: date, out: Path) -> None:
    settings = load_settings()
    con = connect()
    params = {"day": day, "currency": settings.default_currency, "non_revenue": list(settings.non_revenue_statuses)}
    for name, sql in _sql(landing, day, settings.store_timezone).items():
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        con.execute(f"CREATE TEMP TABLE {name} AS {sql}", used)
    write_gold(con, out, day)
    con.close()
