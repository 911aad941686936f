"""Reference "same work": the pipeline's work on one day in one plain DuckDB script, every table as Parquet.

- bronze: every file's values typed and checked by the contract (the pipeline's own validation SQL), with
  lineage (``_source_file``, ``_source_row``, ``_batch_id``); failing rows go to quarantine with the rule,
  the detail and the raw record as JSON;
- silver: customer and product versions with the contract's defaults (e-mails and phones checked by
  patterns where the pipeline uses email-validator and phonenumbers; field issues written), orders checked
  as versions with their line sets and brought to their current state with the region and category as of
  the order (the pipeline's batch and as-of SQL), events dated and deduplicated;
- gold: the four tables, from the same SQL texts as the pipeline's.

What it leaves out: earlier days (no stored history to merge with or restate), asset checks, the catalog,
Iceberg commits and Hive partition folders (each table is one Parquet file, quarantine one per entity).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from ecommerce_pipeline.contract import ENTITIES, Entity
from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.tooling.reference import landing_files, read_csv, write_gold, write_parquet
from ecommerce_pipeline.transforms import customers, products
from ecommerce_pipeline.transforms.bronze import validation_sql
from ecommerce_pipeline.transforms.dimensions import VERSION_ORDER
from ecommerce_pipeline.transforms.events import MERGE_SQL, OUTPUT_COLUMNS
from ecommerce_pipeline.transforms.orders import (
    BATCH_STEPS,
    CURRENT_SQL,
    LINES_QUARANTINE,
    NEW_HEADERS,
    NEW_LINES,
    NEWEST_FIRST,
    ORDERS_QUARANTINE,
    local_date,
    resolve_steps,
)
from ecommerce_pipeline.transforms.sql import literal, own_database, quote

QUARANTINE_COLUMNS = """entity VARCHAR, business_date DATE, _source_file VARCHAR, _source_row BIGINT,
    _batch_id VARCHAR, _ingested_at TIMESTAMPTZ, rule VARCHAR, detail VARCHAR, raw_record VARCHAR"""
EMAIL_PATTERN = r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+"
PHONE_DIGITS = "regexp_replace(phone, '[^0-9+]', '', 'g')"
FIELD_CHECKS = {  # column -> (rule, SQL true when the value is valid, the value kept)
    "email": (
        "invalid_email",
        f"regexp_full_match(lower(trim(email)), {literal(EMAIL_PATTERN)})",
        "lower(trim(email))",
    ),
    "phone": ("invalid_phone", f"regexp_full_match({PHONE_DIGITS}, '\\+?[0-9]{{7,15}}')", PHONE_DIGITS),
}


def _bronze(con: duckdb.DuckDBPyConnection, entity: Entity, files: list[Path], params: dict) -> None:
    """bronze_<entity>: the valid rows of every file, typed, with lineage; the others into quarantine."""
    for i, path in enumerate(files or [None]):
        if path is None:  # no file: the typed table, empty
            empty = ", ".join(f"NULL::VARCHAR AS {quote(c)}" for c in entity.column_names)
            source = f"SELECT {empty}, NULL::BIGINT AS _source_row WHERE false"
        else:  # CSV rows are numbered by their line in the file (the header is line 1)
            source = f"SELECT *, CAST(row_number() OVER () + 1 AS BIGINT) AS _source_row FROM {read_csv([path])}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE file_records AS {source}")
        header = [c for c in con.sql("SELECT * FROM file_records").columns if c != "_source_row"]
        present = {c.lower(): c for c in header}
        contract = {c: present[c] for c in entity.column_names if c in present}
        extras = [c for lower, c in present.items() if lower not in entity.column_names]
        lineage = f"{literal(str(path or ''))} AS _source_file, {literal(params['batch_id'])} AS _batch_id"
        checked = f"SELECT *, {lineage} FROM ({validation_sql(entity, contract, extras)})"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE checked AS {checked}",
            {k: params[k] for k in ("business_date", "ingested_at")},
        )
        raw = ", ".join(f"{quote(c)} := r.{quote(c)}" for c in header)
        con.execute(
            f"""INSERT INTO quarantine BY NAME
            SELECT {literal(entity.name)} AS entity, c.business_date, c._source_file, c._source_row, c._batch_id,
                   c._ingested_at, split_part(c._failures, ':', 1) AS rule, c._failures AS detail,
                   to_json(struct_pack({raw}))::VARCHAR AS raw_record
            FROM checked c JOIN file_records r USING (_source_row) WHERE c._failures <> ''"""
        )
        valid = "SELECT * EXCLUDE (_failures) FROM checked WHERE _failures = ''"
        into = f"CREATE TEMP TABLE bronze_{entity.name} AS" if i == 0 else f"INSERT INTO bronze_{entity.name} BY NAME"
        con.execute(f"{into} {valid}")


def _versions_sql(source: str, key: str, columns: dict[str, str], derived: dict[str, str]) -> str:
    """Every record a version of its key, valid from its time until the next version's."""
    cleaned = ", ".join(f"{expr} AS {quote(name)}" for name, expr in columns.items())
    extra = "".join(f", {expr} AS {quote(name)}" for name, expr in derived.items())
    return f"""
        WITH versions AS (
            SELECT {cleaned}, coalesce(updated_at, CAST(business_date AS TIMESTAMPTZ)) AS valid_from,
                   business_date AS landing_date, _source_file, _source_row, _batch_id
            FROM {source}
        ), ordered AS (
            SELECT *, lead(valid_from) OVER w AS valid_to, min(landing_date) OVER (PARTITION BY {key}) AS first_landing_date
            FROM versions WINDOW w AS (PARTITION BY {key} ORDER BY {VERSION_ORDER})
        )
        SELECT * EXCLUDE (first_landing_date){extra}, valid_to IS NULL AS is_current FROM ordered
        ORDER BY {key}, {VERSION_ORDER}
    """


def _dimensions(con: duckdb.DuckDBPyConnection) -> None:
    fields = ", ".join(f"CASE WHEN {ok} THEN {kept} END AS {c}" for c, (_, ok, kept) in FIELD_CHECKS.items())
    con.execute(f"CREATE TEMP TABLE customers_fields AS SELECT * REPLACE ({fields}) FROM bronze_customers")
    con.execute(
        "CREATE TEMP TABLE field_issues AS "
        + " UNION ALL ".join(
            f"SELECT 'customers' AS entity, customer_id AS key, '{c}' AS column_name, {c} AS raw_value, "
            f"'{rule}' AS rule, _source_file, _source_row FROM bronze_customers WHERE {c} IS NOT NULL AND NOT {ok}"
            for c, (rule, ok, _) in FIELD_CHECKS.items()
        )
    )
    dimensions = {
        "customers_clean": ("customers_fields", "customer_id", customers.CLEANED_COLUMNS, customers.DERIVED_COLUMNS),
        "products_clean": ("bronze_products", "product_id", products.CLEANED_COLUMNS, {}),
    }
    for name, args in dimensions.items():
        con.execute(f"CREATE TEMP TABLE {name} AS {_versions_sql(*args)}")


def _orders(con: duckdb.DuckDBPyConnection, timezone: str, currency: str, non_revenue: list[str]) -> None:
    con.execute("CREATE TEMP VIEW orders AS SELECT * FROM bronze_orders")
    con.execute("CREATE TEMP VIEW order_items AS SELECT * FROM bronze_order_items")
    con.execute(
        "CREATE TEMP VIEW items_rejected AS SELECT business_date, raw_record FROM quarantine WHERE entity = 'order_items'"
    )
    for name, sql in BATCH_STEPS.items():
        con.execute(f"CREATE TEMP TABLE {name} AS {sql.format(order_date=local_date('o.order_ts', timezone))}")
    con.execute(f"CREATE TEMP TABLE new_headers AS {NEW_HEADERS}", {"currency": currency})
    con.execute(f"CREATE TEMP TABLE lines AS {NEW_LINES}")
    for entity, sql in (("orders", ORDERS_QUARANTINE), ("order_items", LINES_QUARANTINE)):
        con.execute(f"INSERT INTO quarantine BY NAME SELECT {literal(entity)} AS entity, * FROM ({sql})")
    # Which version is current, and which has the current line set: the newest of each order.
    newest = f"row_number() OVER (PARTITION BY order_id{{}} ORDER BY {NEWEST_FIRST}) = 1"
    con.execute(
        f"""CREATE TEMP TABLE headers AS
        SELECT * REPLACE ({newest.format("")} AS is_current,
                          line_count > 0 AND {newest.format(", line_count > 0")} AS lines_current)
        FROM new_headers"""
    )
    con.execute(f"CREATE TEMP TABLE current_lines AS {CURRENT_SQL}")
    *joins, (_, resolved) = resolve_steps("current_lines", "customers_clean", "products_clean").items()
    for name, sql in joins:
        con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
    con.execute(f"CREATE TEMP TABLE orders_validated AS {resolved}", {"non_revenue": non_revenue})


def _events(con: duckdb.DuckDBPyConnection, day: date, timezone: str) -> None:
    con.execute(
        f"""CREATE TEMP TABLE incoming AS
        SELECT * EXCLUDE (business_date, device_type, country),
               coalesce(lower(NULLIF(trim(device_type), '')), 'unknown') AS device_type,
               coalesce(NULLIF(trim(country), ''), 'unknown') AS country,
               {local_date("event_ts", timezone)} AS business_date, business_date AS landing_date
        FROM bronze_events"""
    )
    con.execute(
        "CREATE TEMP TABLE stored AS SELECT *, NULL::BOOLEAN AS is_duplicate, NULL::INTEGER AS event_seq FROM incoming WHERE false"
    )
    con.execute("CREATE TEMP TABLE days AS SELECT $day AS day", {"day": day})
    con.execute(f"CREATE TEMP TABLE events_all AS SELECT {', '.join(OUTPUT_COLUMNS)} FROM ({MERGE_SQL})")
    con.execute("CREATE TEMP VIEW events_clean AS SELECT * FROM events_all WHERE NOT is_duplicate")


def run(landing: Path, day: date, out: Path) -> None:
    settings = load_settings()
    con = own_database()
    ingested_at = datetime.now(UTC)
    params = {"business_date": day, "ingested_at": ingested_at, "batch_id": f"reference-{ingested_at:%Y%m%dT%H%M%S}"}
    con.execute(f"CREATE TEMP TABLE quarantine ({QUARANTINE_COLUMNS})")
    for entity in ENTITIES.values():
        _bronze(con, entity, landing_files(landing, entity.name, day), params)
        write_parquet(con, f"SELECT * FROM bronze_{entity.name}", out / "bronze" / f"{entity.name}.parquet")
    _dimensions(con)
    settings_args = (settings.store_timezone, settings.default_currency, list(settings.non_revenue_statuses))
    _orders(con, *settings_args)
    _events(con, day, settings.store_timezone)
    silver = {
        "customers_clean": "customers_clean",
        "products_clean": "products_clean",
        "order_versions": "headers",
        "order_lines": "lines",
        "orders_validated": "orders_validated",
        "events_clean": "events_all",
    }
    for name, table in silver.items():
        write_parquet(con, f"SELECT * FROM {table}", out / "silver" / f"{name}.parquet")
    for entity in ENTITIES:
        write_parquet(
            con,
            f"SELECT * EXCLUDE (entity) FROM quarantine WHERE entity = {literal(entity)}",
            out / "quarantine" / f"{entity}.parquet",
        )
    write_parquet(con, "SELECT * FROM field_issues", out / "quarantine" / "field_issues.parquet")
    write_gold(con, out, day)
    con.close()
