"""Gold: business-ready tables for analysts, one asset each, checked against their pandera schemas."""

import dagster as dg
import pyarrow as pa

from ecommerce_pipeline.defs.metadata import column_sum, schema_check_result, table_metadata
from ecommerce_pipeline.defs.partitions import history_window, partition_days
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, GOLD_FRESHNESS, OWNERS
from ecommerce_pipeline.defs.silver.assets import EVENTS, ORDERS, PRODUCTS
from ecommerce_pipeline.quality.schemas import check_schema
from ecommerce_pipeline.storage.io_manager import only_columns
from ecommerce_pipeline.transforms import (
    conversion_funnel as funnel,
)
from ecommerce_pipeline.transforms import (
    customer_lifetime_value as clv,
)
from ecommerce_pipeline.transforms import (
    daily_sales_summary as sales,
)
from ecommerce_pipeline.transforms import (
    product_performance as performance,
)


def _gold(name: str) -> dict:
    key = dg.AssetKey(["gold", name])
    return dict(
        key=key,
        group_name="gold",
        kinds={"parquet"},
        owners=OWNERS,
        **DAILY_LAKE_STEP,
        freshness_policy=GOLD_FRESHNESS,
        check_specs=[dg.AssetCheckSpec("schema", asset=key, description="The table matches its pandera schema.")],
    )


def _result(name: str, table: pa.Table, **numbers) -> dg.Output:
    return dg.Output(table, metadata=table_metadata(table, **numbers))


@dg.asset(
    ins={"orders_validated": dg.AssetIn(ORDERS, metadata=only_columns(sales.INPUT_COLUMNS))},
    **_gold("daily_sales_summary"),
)
def daily_sales_summary(orders_validated: pa.Table):
    """Sales per order date, product category and region (the customer's state, or country): orders,
    revenue, average order value, unique customers and units sold. Revenue is quantity x unit price minus
    discount over orders that were not cancelled, refunded, unavailable or failed; shipping and tax excluded."""
    table = sales.daily_sales_summary(orders_validated)
    yield _result(
        "daily_sales_summary",
        table,
        total_revenue=column_sum(table, "total_revenue"),
        units_sold=column_sum(table, "units_sold"),
    )
    yield schema_check_result(dg.AssetKey(["gold", "daily_sales_summary"]), check_schema("daily_sales_summary", table))


@dg.asset(
    ins={
        "order_history": dg.AssetIn(
            ORDERS, partition_mapping=history_window, metadata=only_columns(clv.HISTORY_COLUMNS)
        )
    },
    **_gold("customer_lifetime_value"),
)
def customer_lifetime_value(context: dg.AssetExecutionContext, order_history: pa.Table):
    """Every customer's lifetime up to the day: orders, total spent, average order value, first and last
    order dates and days since each, recency/frequency/monetary scores from 1 to 5 and an RFM segment
    (Champions, Loyal, Potential Loyalist, New, Need Attention, At Risk, Hibernating, Lost)."""
    table = clv.customer_lifetime_value(order_history, partition_days(context))
    yield _result(
        "customer_lifetime_value", table, customers=table.num_rows, lifetime_revenue=column_sum(table, "total_spent")
    )
    yield schema_check_result(
        dg.AssetKey(["gold", "customer_lifetime_value"]), check_schema("customer_lifetime_value", table)
    )


@dg.asset(
    ins={
        name: dg.AssetIn(key, metadata=only_columns(performance.INPUT_SCHEMAS[name].names))
        for name, key in (("orders_validated", ORDERS), ("events_clean", EVENTS), ("products_clean", PRODUCTS))
    },
    **_gold("product_performance"),
)
def product_performance(orders_validated: pa.Table, events_clean: pa.Table, products_clean: pa.Table):
    """Per product and day: orders, units and revenue, the product's revenue rank within its category,
    product views and add-to-carts from the click stream, and the view-to-purchase rate (orders / views)."""
    table = performance.product_performance(orders_validated, events_clean, products_clean)
    yield _result(
        "product_performance",
        table,
        revenue=column_sum(table, "revenue"),
        product_views=column_sum(table, "product_views"),
    )
    yield schema_check_result(dg.AssetKey(["gold", "product_performance"]), check_schema("product_performance", table))


@dg.asset(
    ins={"events_clean": dg.AssetIn(EVENTS, metadata=only_columns(funnel.INPUT_COLUMNS))}, **_gold("conversion_funnel")
)
def conversion_funnel(events_clean: pa.Table):
    """Sessions reaching each funnel stage (page view, product view, add to cart, checkout, purchase) per day
    and device type, plus an `all` row; stage-to-stage and overall conversion rates."""
    table = funnel.conversion_funnel(events_clean)
    overall = table.filter(pa.compute.equal(table.column("device_type"), "all"))
    sessions = column_sum(overall, "sessions")
    rate = column_sum(overall, "purchase_sessions") / sessions if sessions else None
    yield _result("conversion_funnel", table, sessions=sessions, overall_conversion_rate=rate)
    yield schema_check_result(dg.AssetKey(["gold", "conversion_funnel"]), check_schema("conversion_funnel", table))


gold_assets = [daily_sales_summary, customer_lifetime_value, product_performance, conversion_funnel]
