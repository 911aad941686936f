"""Gold: business-ready tables for analysts, keyed by the date they describe, checked against their schemas.

Each run rebuilds exactly the dates silver restated for its landing days, in one atomic commit per table,
so a date's figures are its current rows once, whatever day their versions arrived.
"""

from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.defs import restatements
from ecommerce_pipeline.defs.gold import customer_order_days as order_days
from ecommerce_pipeline.defs.metadata import (
    check_partitions,
    column_sum,
    count_by,
    day_figures,
    day_schema_checks,
    describe_partitions,
    masked_preview,
    schema_check_result,
    table_metadata,
)
from ecommerce_pipeline.defs.partitions import date_chunks, partition_days
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, GOLD_FRESHNESS, OWNERS
from ecommerce_pipeline.defs.resources import TablesResource
from ecommerce_pipeline.defs.silver.assets import DIMENSION_CHANGES, EVENTS, ORDERS, PRODUCTS, table_of
from ecommerce_pipeline.quality.schemas import check_schema, combined_schema
from ecommerce_pipeline.storage.tables import TableStore
from ecommerce_pipeline.transforms import conversion_funnel as funnel
from ecommerce_pipeline.transforms import customer_lifetime_value as clv
from ecommerce_pipeline.transforms import daily_sales_summary as sales
from ecommerce_pipeline.transforms import product_performance as performance
from ecommerce_pipeline.transforms.events import counted
from ecommerce_pipeline.transforms.sql import query


def _gold(name: str, *deps: dg.AssetKey) -> dict:
    key = dg.AssetKey(["gold", name])
    return dict(
        key=key,
        deps=list(deps),
        group_name="gold",
        kinds={"iceberg"},
        owners=OWNERS,
        **DAILY_LAKE_STEP,
        freshness_policy=GOLD_FRESHNESS,
        check_specs=[dg.AssetCheckSpec("schema", asset=key, description="The rows written match the pandera schema.")],
    )


def _restate_in_chunks(
    context,
    store: TableStore,
    name: str,
    dates: set[date],
    compute,
    sums: dict,
    described=None,
    *,
    sized_by: tuple[str, ...],
    **numbers,
):
    """Compute and commit the dates' rows a chunk at a time (``compute(chunk)`` -> table), checking each
    chunk as it is written; a chunk holds the dates of about ``CHUNK_ROWS`` rows of the input tables
    ``sized_by``. Each partition of the run is described and checked by the table's rows of its own date
    (``sums``: figure name -> column summed; ``described`` picks the rows the figures count); ``numbers``:
    figures of the run over every restated date, which add up across chunks."""
    key = dg.AssetKey(["gold", name])
    days = partition_days(context)
    described = described or (lambda t: t)
    # Only figures are kept from one chunk to the next: a year's backfill holds a few weeks of rows at a time.
    checks, totals, rows, table = [], dict.fromkeys(numbers, 0.0), 0, None
    figures, day_checks = {}, {}

    def describe_days(rows_of: pa.Table, outcome, of_days: list[date]) -> None:
        figures.update(day_figures(described(rows_of), "business_date", sums, of_days))
        rows_per_day = count_by(rows_of, "business_date")  # the table's own rows, not the described summary's
        for day in of_days:
            figures[day]["dagster/row_count"] = rows_per_day[day]
        day_checks.update(day_schema_checks(key, rows_of, "business_date", outcome, of_days))
        for day in of_days:  # each partition previews its own date's rows
            mine = rows_of.filter(pc.equal(rows_of.column("business_date"), pa.scalar(day, pa.date32())))
            figures[day]["preview"] = dg.MetadataValue.md(masked_preview(mine))

    for chunk in date_chunks(dates, _input_rows(store, sized_by, dates)):
        table = compute(chunk)
        store.restate(f"gold/{name}", "business_date", chunk, table)
        checks.append(check_schema(name, table))
        describe_days(table, checks[-1], [d for d in days if d in set(chunk)])
        rows += table.num_rows
        for k, f in numbers.items():  # chunks have disjoint dates: their figures add up
            totals[k] = totals[k] + (f(table) or 0.0)
    unchanged = [d for d in days if d not in dates]  # partitions whose date no row of the run changed
    if unchanged:
        rest = store.read_dates(f"gold/{name}", "business_date", unchanged)
        describe_days(rest, check_schema(name, rest), unchanged)
    # The run's figures over every date it restated are one entry, not plotted: each partition has its own
    # figures under the plain names, and the Plots view draws those.
    restated = {"dates": sorted(d.isoformat() for d in dates), "rows": rows} | {
        k: round(v, 2) for k, v in totals.items()
    }
    run = table_metadata(table, row_count=rows, described_as=f"gold/{name}") | {
        "restated": dg.MetadataValue.json(restated)
    }
    describe_partitions(context, key, figures, run)
    check_partitions(context, day_checks)
    return [dg.MaterializeResult(), schema_check_result(key, combined_schema(checks))]


def _input_rows(store: TableStore, tables: tuple[str, ...], dates: set[date]) -> dict[date, int] | None:
    """The input tables' rows of each date, summed (None when a table's files cannot tell)."""
    per_table = [store.rows_of_dates(t, "business_date", sorted(dates)) for t in tables]
    if any(rows is None for rows in per_table):
        return None
    return {d: sum(rows[d] for rows in per_table) for d in dates}


def _nothing_yet(name: str):
    """Before silver has any row (a store whose first days had no orders): an empty materialization."""
    key = dg.AssetKey(["gold", name])
    return [
        dg.MaterializeResult(metadata={"dagster/row_count": 0}),
        dg.AssetCheckResult(asset_key=key, check_name="schema", passed=True, metadata={"rows_checked": 0}),
    ]


def _orders_of(store: TableStore, dates: set[date], columns: list[str]) -> pa.Table:
    rows = store.read_dates(table_of(ORDERS), "business_date", dates, columns)
    return rows if rows is not None else performance.INPUT_SCHEMAS["orders_validated"].empty_table()


@dg.asset(**_gold("daily_sales_summary", ORDERS))
def daily_sales_summary(context: dg.AssetExecutionContext, tables: TablesResource):
    """Sales per order date (`business_date`, the order's date in the store's time zone), product category,
    region (the customer's state, or country, when the order was placed) and currency: orders, revenue,
    average order value, unique customers and units sold, from each order's current state. Revenue is
    quantity x unit price minus discount over orders that are not cancelled, refunded, unavailable or
    failed; shipping and tax excluded."""
    store, days = tables.store(), partition_days(context)
    if not store.exists(table_of(ORDERS)):
        yield from _nothing_yet("daily_sales_summary")
        return

    def compute(chunk: list[date]) -> pa.Table:
        return sales.daily_sales_summary(
            store.read_dates(table_of(ORDERS), "business_date", chunk, sales.INPUT_COLUMNS)
        )

    yield from _restate_in_chunks(
        context,
        store,
        "daily_sales_summary",
        restatements.restated(store, table_of(ORDERS), days),
        compute,
        {"total_revenue": "total_revenue", "orders": "total_orders", "units_sold": "units_sold"},
        sized_by=(table_of(ORDERS),),
        total_revenue=lambda t: column_sum(t, "total_revenue"),
        units_sold=lambda t: column_sum(t, "units_sold"),
    )


def _latest_landing_day(store: TableStore, days: list[date]) -> date:
    """The as-of day: the latest landing day processed so far (replaying days in any order ends the same)."""
    previous = store.read("gold/customer_lifetime_value", ["business_date"])
    if previous is not None and previous.num_rows:
        return max(max(days), pc.max(previous.column("business_date")).as_py())
    return max(days)


@dg.asset(**_gold("customer_lifetime_value", ORDERS))
def customer_lifetime_value(context: dg.AssetExecutionContext, tables: TablesResource):
    """Every customer's lifetime as of the latest landing day processed (`business_date`): orders, total
    spent, average order value, first and last order dates and days since each, recency/frequency/monetary
    scores from 1 to 5 and an RFM segment (Champions, Loyal, Potential Loyalist, New, Need Attention, At
    Risk, Hibernating, Lost). One row per customer and currency; each order counted once, in its current
    state."""
    store, days = tables.store(), partition_days(context)
    as_of = _latest_landing_day(store, days)
    # The per-customer, per-date figures are brought up to date by recomputing only the order dates that
    # changed, and each customer's totals by the difference; the table is scored from the totals, never
    # from every order line of the history.
    how, recomputed = order_days.refresh(store, table_of(ORDERS))
    table = clv.from_totals(store.read(order_days.TOTALS), as_of)
    store.replace("gold/customer_lifetime_value", table)
    # One snapshot as of the run's latest day: its last partition describes it.
    run = table_metadata(
        table,
        described_as="gold/customer_lifetime_value",
        customers=table.num_rows,
        lifetime_revenue=column_sum(table, "total_spent"),
    ) | {
        "as_of": dg.MetadataValue.text(as_of.isoformat()),
        "order_days": dg.MetadataValue.json({"refresh": how, "dates_recomputed": len(recomputed)}),
    }
    describe_partitions(context, dg.AssetKey(["gold", "customer_lifetime_value"]), {}, run)
    yield dg.MaterializeResult()
    check = schema_check_result(
        dg.AssetKey(["gold", "customer_lifetime_value"]), check_schema("customer_lifetime_value", table)
    )
    # The table is one snapshot as of the run's latest day: every partition the run wrote shows its check.
    check_partitions(context, dict.fromkeys(days, check))
    yield check


def _product_change_dates(store: TableStore, days: list[date]) -> set[date]:
    """Dates of product_performance rows whose product's name or category may have changed in this run."""
    changes = store.read_dates(DIMENSION_CHANGES, "landing_date", days)
    existing = store.load("gold/product_performance")
    if changes is None or existing is None:
        return set()
    changes = changes.filter(pc.equal(changes.column("entity"), "products"))
    if not changes.num_rows:
        return set()
    keys = changes.column("key").to_pylist()
    rows = store.read_keys("gold/product_performance", ["product_id", "business_date"], "product_id", keys)
    # A row shows the version valid at the end of its day (midnight UTC after it): the dates where a changed
    # reach of a product covers that instant.
    found = query(
        """
        SELECT DISTINCT r.business_date AS d
        FROM rows r JOIN changes c ON r.product_id = c.key
        WHERE (c.from_ts IS NULL OR c.from_ts < CAST(r.business_date + 1 AS TIMESTAMPTZ))
          AND (c.to_ts IS NULL OR c.to_ts >= CAST(r.business_date + 1 AS TIMESTAMPTZ))
        """,
        rows=rows,
        changes=changes.select(["key", "from_ts", "to_ts"]),
    )
    return set(found.column("d").to_pylist())


def product_dates(store: TableStore, days: list[date]) -> set[date]:
    """The dates product_performance restates: those of the orders and events silver restated, and those whose
    product name or category may have changed."""
    return (
        restatements.restated(store, table_of(ORDERS), days)
        | restatements.restated(store, table_of(EVENTS), days)
        | _product_change_dates(store, days)
    )


@dg.asset(**_gold("product_performance", ORDERS, EVENTS, PRODUCTS))
def product_performance(context: dg.AssetExecutionContext, tables: TablesResource):
    """Per product, date and currency: orders, units and revenue (by order date, each order in its current
    state), the product's revenue rank within its category, product views and add-to-carts (by event date)
    and the view-to-purchase rate (orders / views). Name and category are the product's version valid at the
    end of the day."""
    store, days = tables.store(), partition_days(context)
    schemas = performance.INPUT_SCHEMAS
    products = store.read(table_of(PRODUCTS), schemas["products_clean"].names)
    products = products if products is not None else schemas["products_clean"].empty_table()

    def compute(chunk: list[date]) -> pa.Table:
        orders = _orders_of(store, set(chunk), schemas["orders_validated"].names)
        events = store.read_dates(
            table_of(EVENTS), "business_date", chunk, [*schemas["events_clean"].names, "is_duplicate"]
        )
        events = (
            counted(events).select(schemas["events_clean"].names)
            if events is not None
            else schemas["events_clean"].empty_table()
        )
        return performance.product_performance(orders, events, products)

    yield from _restate_in_chunks(
        context,
        store,
        "product_performance",
        product_dates(store, days),
        compute,
        {"revenue": "revenue", "product_views": "product_views"},
        sized_by=(table_of(ORDERS), table_of(EVENTS)),
        revenue=lambda t: column_sum(t, "revenue"),
        product_views=lambda t: column_sum(t, "product_views"),
    )


@dg.asset(**_gold("conversion_funnel", EVENTS))
def conversion_funnel(context: dg.AssetExecutionContext, tables: TablesResource):
    """Sessions reaching each funnel stage (page view, product view, add to cart, checkout, purchase) per
    event date and device type, plus an `all` row; stage-to-stage and overall conversion rates. A session
    that spans midnight counts on each date it has events."""
    store, days = tables.store(), partition_days(context)
    if not store.exists(table_of(EVENTS)):
        yield from _nothing_yet("conversion_funnel")
        return

    def compute(chunk: list[date]) -> pa.Table:
        events = store.read_dates(table_of(EVENTS), "business_date", chunk, [*funnel.INPUT_COLUMNS, "is_duplicate"])
        return funnel.conversion_funnel(counted(events).select(funnel.INPUT_COLUMNS))

    def overall(table: pa.Table) -> pa.Table:
        return table.filter(pc.equal(table.column("device_type"), "all"))

    yield from _restate_in_chunks(
        context,
        store,
        "conversion_funnel",
        restatements.restated(store, table_of(EVENTS), days),
        compute,
        {"sessions": "sessions", "purchase_sessions": "purchase_sessions"},
        overall,
        sized_by=(table_of(EVENTS),),
        sessions=lambda t: column_sum(overall(t), "sessions"),
        purchase_sessions=lambda t: column_sum(overall(t), "purchase_sessions"),
    )


gold_assets = [daily_sales_summary, customer_lifetime_value, product_performance, conversion_funnel]
