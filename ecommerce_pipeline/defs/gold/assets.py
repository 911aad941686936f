"""Gold: business-ready tables for analysts, keyed by the date they describe, checked against their schemas.

Each run rebuilds exactly the dates silver restated for its landing days, in one atomic commit per table,
so a date's figures are its current rows once, whatever day their versions arrived.
"""


from datetime import UTC, date, timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import And, GreaterThanOrEqual, LessThanOrEqual

from ecommerce_pipeline.defs import restatements
from ecommerce_pipeline.defs.metadata import column_sum, schema_check_result, table_metadata
from ecommerce_pipeline.defs.partitions import partition_days
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, GOLD_FRESHNESS, OWNERS
from ecommerce_pipeline.defs.resources import TablesResource
from ecommerce_pipeline.defs.silver.assets import DIMENSION_CHANGES, EVENTS, ORDERS, PRODUCTS, table_of
from ecommerce_pipeline.quality.schemas import check_schema
from ecommerce_pipeline.storage.tables import TableStore
from ecommerce_pipeline.transforms import conversion_funnel as funnel
from ecommerce_pipeline.transforms import customer_lifetime_value as clv
from ecommerce_pipeline.transforms import daily_sales_summary as sales
from ecommerce_pipeline.transforms import product_performance as performance
from ecommerce_pipeline.transforms.events import counted


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


def _restate(store: TableStore, name: str, dates: set[date], table: pa.Table, **numbers):
    """Commit the dates' rows and describe what was written."""
    key = dg.AssetKey(["gold", name])
    store.restate(f"gold/{name}", "business_date", dates, table)
    metadata = table_metadata(table, **numbers) | {
        "restated_dates": dg.MetadataValue.json(sorted(d.isoformat() for d in dates))
    }
    return [dg.MaterializeResult(metadata=metadata), schema_check_result(key, check_schema(name, table))]


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
    dates = restatements.restated(store, table_of(ORDERS), days)
    orders = store.read_dates(table_of(ORDERS), "business_date", dates, sales.INPUT_COLUMNS)
    if orders is None:
        yield from _nothing_yet("daily_sales_summary")
        return
    table = sales.daily_sales_summary(orders)
    yield from _restate(
        store,
        "daily_sales_summary",
        dates,
        table,
        total_revenue=column_sum(table, "total_revenue"),
        units_sold=column_sum(table, "units_sold"),
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
    orders = store.read(table_of(ORDERS), clv.HISTORY_COLUMNS)
    orders = orders if orders is not None else clv.HISTORY_SCHEMA.empty_table()
    as_of = _latest_landing_day(store, days)
    table = clv.customer_lifetime_value(orders.cast(clv.HISTORY_SCHEMA), as_of)
    store.replace("gold/customer_lifetime_value", table)
    yield dg.MaterializeResult(
        metadata=table_metadata(table, customers=table.num_rows, lifetime_revenue=column_sum(table, "total_spent"))
        | {"as_of": dg.MetadataValue.text(as_of.isoformat())}
    )
    yield schema_check_result(dg.AssetKey(["gold", "customer_lifetime_value"]), check_schema("customer_lifetime_value", table))


def _product_change_dates(store: TableStore, days: list[date]) -> set[date]:
    """Dates of product_performance rows whose product's name or category may have changed in this run."""
    changes = store.read_dates(DIMENSION_CHANGES, "landing_date", days)
    existing = store.load("gold/product_performance")
    if changes is None or existing is None:
        return set()
    changes = changes.filter(pc.equal(changes.column("entity"), "products"))
    if not changes.num_rows:
        return set()
    keys = sorted(set(changes.column("key").to_pylist()))
    rows = store.read(
        "gold/product_performance",
        ["product_id", "business_date"],
        And(GreaterThanOrEqual("product_id", keys[0]), LessThanOrEqual("product_id", keys[-1])),
    )
    found = set()
    by_key = {}
    for key, start, end in zip(*(changes.column(c).to_pylist() for c in ("key", "from_ts", "to_ts"))):
        by_key.setdefault(key, []).append((start, end))
    for product, day in zip(rows.column("product_id").to_pylist(), rows.column("business_date").to_pylist()):
        end_of_day = _end_of_day(day)
        for start, end in by_key.get(product, ()):
            # The row shows the version valid at the end of its day.
            if (start is None or start < end_of_day) and (end is None or end >= end_of_day):
                found.add(day)
    return found


def _end_of_day(day: date):
    from datetime import datetime

    return datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)


@dg.asset(**_gold("product_performance", ORDERS, EVENTS, PRODUCTS))
def product_performance(context: dg.AssetExecutionContext, tables: TablesResource):
    """Per product, date and currency: orders, units and revenue (by order date, each order in its current
    state), the product's revenue rank within its category, product views and add-to-carts (by event date)
    and the view-to-purchase rate (orders / views). Name and category are the product's version valid at the
    end of the day."""
    store, days = tables.store(), partition_days(context)
    dates = (
        restatements.restated(store, table_of(ORDERS), days)
        | restatements.restated(store, table_of(EVENTS), days)
        | _product_change_dates(store, days)
    )
    schemas = performance.INPUT_SCHEMAS
    orders = _orders_of(store, dates, schemas["orders_validated"].names)
    events = store.read_dates(table_of(EVENTS), "business_date", dates, [*schemas["events_clean"].names, "is_duplicate"])
    events = counted(events).select(schemas["events_clean"].names) if events is not None else schemas["events_clean"].empty_table()
    products = store.read(table_of(PRODUCTS), schemas["products_clean"].names)
    products = products if products is not None else schemas["products_clean"].empty_table()
    table = performance.product_performance(orders, events, products)
    yield from _restate(
        store,
        "product_performance",
        dates,
        table,
        revenue=column_sum(table, "revenue"),
        product_views=column_sum(table, "product_views"),
    )


@dg.asset(**_gold("conversion_funnel", EVENTS))
def conversion_funnel(context: dg.AssetExecutionContext, tables: TablesResource):
    """Sessions reaching each funnel stage (page view, product view, add to cart, checkout, purchase) per
    event date and device type, plus an `all` row; stage-to-stage and overall conversion rates. A session
    that spans midnight counts on each date it has events."""
    store, days = tables.store(), partition_days(context)
    dates = restatements.restated(store, table_of(EVENTS), days)
    events = store.read_dates(table_of(EVENTS), "business_date", dates, [*funnel.INPUT_COLUMNS, "is_duplicate"])
    if events is None:
        yield from _nothing_yet("conversion_funnel")
        return
    table = funnel.conversion_funnel(counted(events).select(funnel.INPUT_COLUMNS))
    overall = table.filter(pc.equal(table.column("device_type"), "all"))
    sessions = column_sum(overall, "sessions")
    rate = column_sum(overall, "purchase_sessions") / sessions if sessions else None
    yield from _restate(store, "conversion_funnel", dates, table, sessions=sessions, overall_conversion_rate=rate)


gold_assets = [daily_sales_summary, customer_lifetime_value, product_performance, conversion_funnel]
