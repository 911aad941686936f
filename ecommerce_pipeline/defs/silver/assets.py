"""Silver: cleaned, conformed and foreign-key-checked tables. Their checks block gold on failure."""

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.contract import CUSTOMERS as CUSTOMERS_CONTRACT
from ecommerce_pipeline.contract import ORDER_ITEMS as ORDER_ITEMS_CONTRACT
from ecommerce_pipeline.contract import ORDERS as ORDERS_CONTRACT
from ecommerce_pipeline.defs.bronze.assets import bronze_key
from ecommerce_pipeline.defs.metadata import (
    PREVIEW_ROWS,
    conservation_check_result,
    rule_counts,
    schema_check_result,
    table_metadata,
)
from ecommerce_pipeline.defs.partitions import history_window, partition_days
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, OWNERS
from ecommerce_pipeline.defs.resources import PipelineSettings
from ecommerce_pipeline.defs.silver.field_issues import OUTPUT_NAME, field_issues_out, field_issues_output
from ecommerce_pipeline.quality.conservation import distinct_count, rows_of_days, silver_conservation
from ecommerce_pipeline.quality.schemas import check_schema, checked_columns
from ecommerce_pipeline.storage.io_manager import lazily, only_columns
from ecommerce_pipeline.storage.lake import PartitionScan
from ecommerce_pipeline.transforms.bronze import money_as_double
from ecommerce_pipeline.transforms.customers import customers_clean as clean_customers
from ecommerce_pipeline.transforms.events import events_clean as clean_events
from ecommerce_pipeline.transforms.field_quality import clean_fields
from ecommerce_pipeline.transforms.orders import DIMENSION_COLUMNS
from ecommerce_pipeline.transforms.orders import orders_validated as validate_orders
from ecommerce_pipeline.transforms.products import products_clean as clean_products

CUSTOMERS = dg.AssetKey(["silver", "customers_clean"])
PRODUCTS = dg.AssetKey(["silver", "products_clean"])
ORDERS = dg.AssetKey(["silver", "orders_validated"])
EVENTS = dg.AssetKey(["silver", "events_clean"])
CUSTOMERS_QUARANTINE = dg.AssetKey(["quarantine", "silver_customers"])
ORDERS_QUARANTINE = dg.AssetKey(["quarantine", "silver_orders"])
LINES_QUARANTINE = dg.AssetKey(["quarantine", "silver_order_items"])


def _out(key: dg.AssetKey, description: str) -> dg.AssetOut:
    return dg.AssetOut(key=key, description=description, group_name="silver", kinds={"parquet"}, owners=OWNERS)


def _checks(key: dg.AssetKey, *conservation: str) -> list[dg.AssetCheckSpec]:
    specs = [dg.AssetCheckSpec("schema", asset=key, blocking=True, description="The table matches its pandera schema.")]
    specs += [
        dg.AssetCheckSpec(
            name, asset=key, blocking=True, description="Bronze rows = kept + quarantined + duplicates removed."
        )
        for name in conservation
    ]
    return specs


def _applied_today(snapshot: pa.Table) -> int:
    """Snapshot rows whose version arrived on the snapshot's own day: the day's changes that were applied."""
    return pc.sum(pc.equal(snapshot.column("version_date"), snapshot.column("business_date"))).as_py() or 0


@dg.multi_asset(
    name="customers_clean",
    ins={"bronze_customers": dg.AssetIn(bronze_key("customers"), partition_mapping=history_window)},
    outs={
        "customers": _out(
            CUSTOMERS,
            "Every customer as of the day: the newest valid version of each record, e-mail lower-cased and "
            "validated, phone in E.164, defaults for missing optional fields, and `region` (state, or country).",
        ),
        "quarantine": _out(
            CUSTOMERS_QUARANTINE,
            "Customer records of the day that failed a silver rule (an invalid e-mail or phone only loses the "
            "value: see quarantine.field_issues).",
        ),
        OUTPUT_NAME: field_issues_out(),
    },
    check_specs=_checks(CUSTOMERS, "row_conservation"),
    **DAILY_LAKE_STEP,
)
def customers_clean(context: dg.AssetExecutionContext, bronze_customers: pa.Table, pipeline_settings: PipelineSettings):
    days = partition_days(context)
    fields = clean_fields(CUSTOMERS_CONTRACT, bronze_customers, pipeline_settings.phone_country())
    result = clean_customers(fields.table, days, pipeline_settings.phone_country(), fields_cleaned=True)
    yield dg.Output(
        result.table,
        "customers",
        metadata=table_metadata(
            result.table, duplicates_removed=result.duplicates, quarantined_rows=result.quarantine.num_rows
        ),
    )
    yield dg.Output(
        result.quarantine,
        "quarantine",
        metadata=table_metadata(result.quarantine) | {"rules": rule_counts(result.quarantine)},
    )
    yield field_issues_output(fields.issues, days)
    yield schema_check_result(CUSTOMERS, check_schema("customers_clean", result.table))
    today = rows_of_days(bronze_customers, days)
    yield conservation_check_result(
        CUSTOMERS, silver_conservation(today, ["customer_id"], _applied_today(result.table), result.quarantine.num_rows)
    )


@dg.multi_asset(
    name="products_clean",
    ins={"bronze_products": dg.AssetIn(bronze_key("products"), partition_mapping=history_window)},
    outs={
        "products": _out(
            PRODUCTS,
            "Every product as of the day: the newest version of each record, with `uncategorized` for a missing "
            "category and the base price for a missing current price.",
        )
    },
    check_specs=_checks(PRODUCTS, "row_conservation"),
    **DAILY_LAKE_STEP,
)
def products_clean(context: dg.AssetExecutionContext, bronze_products: pa.Table):
    days = partition_days(context)
    result = clean_products(bronze_products, days)
    yield dg.Output(
        result.table, "products", metadata=table_metadata(result.table, duplicates_removed=result.duplicates)
    )
    yield schema_check_result(PRODUCTS, check_schema("products_clean", result.table))
    today = rows_of_days(bronze_products, days)
    yield conservation_check_result(
        PRODUCTS, silver_conservation(today, ["product_id"], _applied_today(result.table), 0)
    )


@dg.multi_asset(
    name="orders_validated",
    ins={
        "bronze_orders": dg.AssetIn(bronze_key("orders")),
        "bronze_order_items": dg.AssetIn(bronze_key("order_items")),
        "customers": dg.AssetIn(CUSTOMERS, metadata=only_columns(DIMENSION_COLUMNS["customers"])),
        "products": dg.AssetIn(PRODUCTS, metadata=only_columns(DIMENSION_COLUMNS["products"])),
    },
    outs={
        "orders": _out(
            ORDERS,
            "One row per order line of the day, joined with its order: deduplicated (latest wins), customer and "
            "product checked against the day's dimensions, amounts checked, with `line_revenue` (zero for "
            "cancelled, refunded and other non-revenue statuses), `order_date`, `order_year`, `order_month`, the "
            "product's category and the customer's region.",
        ),
        "orders_quarantine": _out(ORDERS_QUARANTINE, "Orders of the day held back by a silver rule, with the reason."),
        "lines_quarantine": _out(
            LINES_QUARANTINE, "Order lines of the day held back by a silver rule, with the reason."
        ),
    },
    check_specs=_checks(ORDERS, "order_conservation", "line_conservation"),
    **DAILY_LAKE_STEP,
)
def orders_validated(
    bronze_orders: pa.Table,
    bronze_order_items: pa.Table,
    customers: pa.Table,
    products: pa.Table,
    pipeline_settings: PipelineSettings,
):
    result = validate_orders(
        # Bronze money is decimal(18,2); orders_validated and gold still declare double (see money_as_double).
        money_as_double(ORDERS_CONTRACT, bronze_orders),
        money_as_double(ORDER_ITEMS_CONTRACT, bronze_order_items),
        customers,
        products,
        pipeline_settings.statuses(),
        pipeline_settings.currency(),
    )
    table = result.table
    revenue = float(pc.sum(table.column("line_revenue")).as_py() or 0.0)
    kept_orders = distinct_count(table, ["business_date", "order_id"])
    yield dg.Output(
        table,
        "orders",
        metadata=table_metadata(
            table,
            orders=kept_orders,
            revenue=revenue,
            duplicate_orders_removed=result.duplicate_orders,
            duplicate_lines_removed=result.duplicate_lines,
            quarantined_orders=result.orders_quarantine.num_rows,
            quarantined_lines=result.lines_quarantine.num_rows,
        ),
    )
    for name, quarantine in (
        ("orders_quarantine", result.orders_quarantine),
        ("lines_quarantine", result.lines_quarantine),
    ):
        yield dg.Output(quarantine, name, metadata=table_metadata(quarantine) | {"rules": rule_counts(quarantine)})
    yield schema_check_result(ORDERS, check_schema("orders_validated", table))
    yield conservation_check_result(
        ORDERS,
        silver_conservation(bronze_orders, ["order_id"], kept_orders, result.orders_quarantine.num_rows),
        "order_conservation",
    )
    yield conservation_check_result(
        ORDERS,
        silver_conservation(
            bronze_order_items, ["order_id", "line_number"], table.num_rows, result.lines_quarantine.num_rows
        ),
        "line_conservation",
    )


@dg.multi_asset(
    name="events_clean",
    ins={"bronze_events": dg.AssetIn(bronze_key("events"), metadata=lazily())},
    outs={
        "events": _out(
            EVENTS,
            "Click-stream events of the day, deduplicated by event id and numbered in order within each session "
            "(`event_seq`), with `unknown` for a missing device type or country.",
        )
    },
    check_specs=_checks(EVENTS, "row_conservation"),
    **DAILY_LAKE_STEP,
)
def events_clean(bronze_events: PartitionScan):
    result = clean_events(bronze_events)
    # Checks read only the columns they judge; storage gets the full table slice by slice.
    checked = result.columns(checked_columns("events_clean"))
    yield dg.Output(
        result.stream(),
        "events",
        metadata=table_metadata(
            result.head(PREVIEW_ROWS),
            row_count=result.num_rows,
            sessions=result.sessions,
            duplicates_removed=result.duplicates,
        ),
    )
    yield schema_check_result(EVENTS, check_schema("events_clean", checked))
    bronze_keys = result.narrow.select(["business_date", "event_id"])  # the bronze rows' own keys
    yield conservation_check_result(EVENTS, silver_conservation(bronze_keys, ["event_id"], checked.num_rows, 0))


silver_assets = [customers_clean, products_clean, orders_validated, events_clean]
