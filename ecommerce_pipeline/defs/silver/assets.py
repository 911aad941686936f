"""Silver: every version of what arrived, the current state of each order, and dimensions as history.

Silver tables are Apache Iceberg tables (``tables`` resource); their quarantine tables stay daily Parquet
beside bronze. A run reads only its landing days' bronze rows and the dates it restates, never the whole
history. Checks block gold on failure.
"""


from collections import defaultdict
from datetime import date, timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual, In, LessThanOrEqual, Or

from ecommerce_pipeline.defs import restatements
from ecommerce_pipeline.defs.bronze.assets import bronze_key, bronze_quarantine_key
from ecommerce_pipeline.defs.metadata import (
    conservation_check_result,
    rule_counts,
    schema_check_result,
    table_metadata,
)
from ecommerce_pipeline.defs.partitions import partition_days
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, OWNERS
from ecommerce_pipeline.defs.resources import PipelineSettings, TablesResource
from ecommerce_pipeline.quality.conservation import ConservationOutcome
from ecommerce_pipeline.quality.schemas import check_schema
from ecommerce_pipeline.storage.tables import TableStore
from ecommerce_pipeline.transforms.customers import customers_clean as clean_customers
from ecommerce_pipeline.transforms.dimensions import CHANGES_SCHEMA, DimensionResult, affected_dates_sql
from ecommerce_pipeline.transforms.events import merge_events, new_events
from ecommerce_pipeline.transforms.orders import DIMENSION_COLUMNS, UNRESOLVED_COLUMNS, merge_versions, order_batch
from ecommerce_pipeline.transforms.orders import resolve_dimensions as resolve
from ecommerce_pipeline.transforms.products import products_clean as clean_products
from ecommerce_pipeline.transforms.sql import query

CUSTOMERS = dg.AssetKey(["silver", "customers_clean"])
PRODUCTS = dg.AssetKey(["silver", "products_clean"])
ORDERS = dg.AssetKey(["silver", "orders_validated"])
EVENTS = dg.AssetKey(["silver", "events_clean"])
CUSTOMERS_QUARANTINE = dg.AssetKey(["quarantine", "silver_customers"])
ORDERS_QUARANTINE = dg.AssetKey(["quarantine", "silver_orders"])
LINES_QUARANTINE = dg.AssetKey(["quarantine", "silver_order_items"])

_DAY = timedelta(days=1)
ORDER_VERSIONS = "silver/order_versions"
LINE_VERSIONS = "silver/order_line_versions"
DIMENSION_CHANGES = "silver/dimension_changes"


def table_of(key: dg.AssetKey) -> str:
    return "/".join(key.path)


def _iceberg_out(key: dg.AssetKey, description: str) -> dg.AssetOut:
    # The asset writes the Iceberg table itself (one atomic commit); the output carries no value.
    return dg.AssetOut(
        key=key, description=description, group_name="silver", kinds={"iceberg"}, owners=OWNERS, dagster_type=dg.Nothing
    )


def _parquet_out(key: dg.AssetKey, description: str) -> dg.AssetOut:
    return dg.AssetOut(key=key, description=description, group_name="silver", kinds={"parquet"}, owners=OWNERS)


def _checks(key: dg.AssetKey, *conservation: str) -> list[dg.AssetCheckSpec]:
    specs = [dg.AssetCheckSpec("schema", asset=key, blocking=True, description="The rows written match the pandera schema.")]
    specs += [
        dg.AssetCheckSpec(
            name, asset=key, blocking=True, description="Bronze rows of the run = stored + quarantined + duplicates."
        )
        for name in conservation
    ]
    return specs


def _conservation(bronze_rows: int, stored: int, quarantined: int, duplicates: int = 0) -> ConservationOutcome:
    accounted = stored + quarantined + duplicates
    problems = [] if accounted == bronze_rows else [f"{bronze_rows} bronze rows but {accounted} accounted for"]
    return ConservationOutcome(
        passed=not problems,
        expected=bronze_rows,
        accounted=accounted,
        counts={
            "bronze_rows": bronze_rows,
            "stored_rows": stored,
            "quarantined_rows": quarantined,
            "duplicates_removed": duplicates,
        },
        problems=problems,
    )


def _record_changes(store: TableStore, entity: str, days: list[date], result: DimensionResult) -> None:
    changes = result.changes
    n = changes.num_rows
    # Every change is attributed to the run's last landing day: the orders step of the same run reads them.
    log = pa.table(
        {
            "landing_date": pa.array([max(days)] * n, pa.date32()),
            "entity": pa.array([entity] * n, pa.string()),
            **{f.name: changes.column(f.name) for f in CHANGES_SCHEMA},
        }
    )
    store.restate(DIMENSION_CHANGES, "landing_date", days, log, also=EqualTo("entity", entity))


def _dimension(context, store: TableStore, name: str, key: dg.AssetKey, result: DimensionResult, days: list[date]):
    store.replace(table_of(key), result.history)
    _record_changes(store, name, days, result)
    today = result.history.filter(pc.is_in(result.history.column("landing_date"), pa.array(days, pa.date32())))
    metadata = table_metadata(
        today,
        row_count=result.history.num_rows,
        versions_received=result.versions_added,
        keys=len(pc.unique(result.history.column(f"{name[:-1]}_id"))),
        keys_changed=len(pc.unique(result.changes.column("key"))),
        quarantined_rows=result.quarantine.num_rows,
    )
    return today, metadata


@dg.multi_asset(
    name="customers_clean",
    ins={"bronze_customers": dg.AssetIn(bronze_key("customers"))},
    outs={
        "customers": _iceberg_out(
            CUSTOMERS,
            "Customers as history (type 2): one row per version received, e-mail lower-cased and validated, phone "
            "in E.164, defaults for missing optional fields and `region` (state, or country); `valid_from`, "
            "`valid_to` and `is_current` say when each version applied. Orders take the version valid at their time.",
        ),
        "quarantine": _parquet_out(
            CUSTOMERS_QUARANTINE, "Customer records of the day that failed a silver rule (invalid e-mail or phone)."
        ),
    },
    check_specs=_checks(CUSTOMERS, "row_conservation"),
    **DAILY_LAKE_STEP,
)
def customers_clean(
    context: dg.AssetExecutionContext,
    bronze_customers: pa.Table,
    tables: TablesResource,
    pipeline_settings: PipelineSettings,
):
    days, store = partition_days(context), tables.store()
    result = clean_customers(
        bronze_customers, store.read(table_of(CUSTOMERS)), days, pipeline_settings.phone_country()
    )
    today, metadata = _dimension(context, store, "customers", CUSTOMERS, result, days)
    yield dg.Output(None, "customers", metadata=metadata)
    yield dg.Output(
        result.quarantine, "quarantine", metadata=table_metadata(result.quarantine) | {"rules": rule_counts(result.quarantine)}
    )
    yield schema_check_result(CUSTOMERS, check_schema("customers_clean", today))
    yield conservation_check_result(
        CUSTOMERS, _conservation(result.received, result.versions_added, result.quarantine.num_rows)
    )


@dg.multi_asset(
    name="products_clean",
    ins={"bronze_products": dg.AssetIn(bronze_key("products"))},
    outs={
        "products": _iceberg_out(
            PRODUCTS,
            "Products as history (type 2): one row per version received, with `uncategorized` for a missing "
            "category and the base price for a missing current price; `valid_from`, `valid_to`, `is_current`.",
        )
    },
    check_specs=_checks(PRODUCTS, "row_conservation"),
    **DAILY_LAKE_STEP,
)
def products_clean(context: dg.AssetExecutionContext, bronze_products: pa.Table, tables: TablesResource):
    days, store = partition_days(context), tables.store()
    result = clean_products(bronze_products, store.read(table_of(PRODUCTS)), days)
    today, metadata = _dimension(context, store, "products", PRODUCTS, result, days)
    yield dg.Output(None, "products", metadata=metadata)
    yield schema_check_result(PRODUCTS, check_schema("products_clean", today))
    yield conservation_check_result(PRODUCTS, _conservation(result.received, result.versions_added, 0))


def _id_range(column: str, ids: list[str]):
    """A filter Iceberg can prune files with (ids that grow with time skip old files); exact matching follows."""
    return And(GreaterThanOrEqual(column, min(ids)), LessThanOrEqual(column, max(ids)))


def _version_dates(store: TableStore, ids: set[str], days: list[date]) -> tuple[set[str], set[date]]:
    """The orders whose versions the run changes (new ones, and those of the run's landing days before) and
    every date where those orders have a version."""
    where = In("landing_date", days)
    if ids:
        where = Or(where, _id_range("order_id", sorted(ids)))
    index = store.read(ORDER_VERSIONS, ["order_id", "order_date", "landing_date"], where)
    if index is None:
        return ids, set()
    replaced = index.filter(pc.is_in(index.column("landing_date"), pa.array(days, pa.date32())))
    touched = ids | set(replaced.column("order_id").to_pylist())
    extra = touched - ids
    if extra:  # orders only in a replaced landing day: find all their versions
        more = store.read(ORDER_VERSIONS, ["order_id", "order_date"], In("order_id", sorted(extra)))
        index = pa.concat_tables([index.select(["order_id", "order_date"]), more])
    mask = pc.is_in(index.column("order_id"), pa.array(sorted(touched), pa.string()))
    return touched, set(index.filter(mask).column("order_date").to_pylist())


def _dimension_affected_dates(store: TableStore, days: list[date]) -> set[date]:
    """Order dates with a line whose customer or product version may have changed in this run."""
    changes = store.read_dates(DIMENSION_CHANGES, "landing_date", days)
    if changes is None or changes.num_rows == 0 or not store.exists(table_of(ORDERS)):
        return set()
    dates: set[date] = set()
    for entity, column in (("customers", "customer_id"), ("products", "product_id")):
        c = changes.filter(pc.equal(changes.column("entity"), entity))
        if not c.num_rows:
            continue
        keys = sorted(set(c.column("key").to_pylist()))
        where = _id_range(column, keys)
        froms = c.column("from_ts")
        if froms.null_count == 0:  # no key's first version changed: nothing before the earliest change moves
            where = And(where, GreaterThanOrEqual("order_date", (pc.min(froms).as_py().date() - _DAY).isoformat()))
        facts = store.read(table_of(ORDERS), [column, "order_ts", "order_date"], where)
        found = query(affected_dates_sql("facts", column, "order_ts", "order_date"), facts=facts, changes=c.select(["key", "from_ts", "to_ts"]))
        dates |= set(found.column("d").to_pylist())
    return dates


def _dimensions(store: TableStore) -> dict[str, pa.Table]:
    out = {}
    for name, key in (("customers", CUSTOMERS), ("products", PRODUCTS)):
        table = store.read(table_of(key), DIMENSION_COLUMNS[name])
        out[name] = table if table is not None else _empty_dimension(name)
    return out


def _empty_dimension(name: str) -> pa.Table:
    key = "customer_id" if name == "customers" else "product_id"
    attr = "region" if name == "customers" else "category"
    return pa.table(
        {
            key: pa.array([], pa.string()),
            attr: pa.array([], pa.string()),
            "valid_from": pa.array([], pa.timestamp("us", tz="UTC")),
            "valid_to": pa.array([], pa.timestamp("us", tz="UTC")),
            "landing_date": pa.array([], pa.date32()),
            "_source_file": pa.array([], pa.string()),
            "_source_row": pa.array([], pa.int64()),
        }
    )


@dg.multi_asset(
    name="orders_validated",
    ins={
        "bronze_orders": dg.AssetIn(bronze_key("orders")),
        "bronze_order_items": dg.AssetIn(bronze_key("order_items")),
        "order_items_rejected": dg.AssetIn(bronze_quarantine_key("order_items")),
    },
    deps=[CUSTOMERS, PRODUCTS],
    outs={
        "orders": _iceberg_out(
            ORDERS,
            "The current state of every order, one row per order line, by order date (`business_date`, the order's "
            "date in the store's time zone): the latest valid version of the order (by `updated_at`, then landing "
            "day, file and row) with the line set of its latest version that had lines. `line_revenue` is zero for "
            "cancelled, refunded and other non-revenue statuses. The customer's region and the product's category "
            "are those valid at the order's time. Every version received is kept in `silver.order_versions` and "
            "`silver.order_line_versions`.",
        ),
        "orders_quarantine": _parquet_out(ORDERS_QUARANTINE, "Order versions of the day held back by a silver rule, with the reason."),
        "lines_quarantine": _parquet_out(LINES_QUARANTINE, "Order lines of the day held back by a silver rule, with the reason."),
    },
    check_specs=_checks(ORDERS, "order_conservation", "line_conservation"),
    **DAILY_LAKE_STEP,
)
def orders_validated(
    context: dg.AssetExecutionContext,
    bronze_orders: pa.Table,
    bronze_order_items: pa.Table,
    order_items_rejected: pa.Table,
    tables: TablesResource,
    pipeline_settings: PipelineSettings,
):
    days, store = partition_days(context), tables.store()
    batch = order_batch(
        bronze_orders, bronze_order_items, order_items_rejected, pipeline_settings.timezone(), pipeline_settings.currency()
    )
    new_ids = set(batch.headers.column("order_id").to_pylist())
    touched, old_dates = _version_dates(store, new_ids, days)
    new_dates = set(batch.headers.column("order_date").to_pylist())
    version_dates = old_dates | new_dates
    merged = merge_versions(
        store.read_dates(ORDER_VERSIONS, "order_date", version_dates),
        store.read_dates(LINE_VERSIONS, "order_date", version_dates),
        batch,
        days,
        sorted(touched),
    )
    store.restate(ORDER_VERSIONS, "order_date", version_dates, merged.headers)
    store.restate(LINE_VERSIONS, "order_date", version_dates, merged.lines)

    dimension_dates = _dimension_affected_dates(store, days)
    restated = version_dates | set(merged.current.column("order_date").to_pylist()) | dimension_dates
    stored = store.read_dates(table_of(ORDERS), "business_date", restated, UNRESOLVED_COLUMNS)
    kept = None
    if stored is not None and stored.num_rows:
        kept = stored.filter(pc.invert(pc.is_in(stored.column("order_id"), pa.array(sorted(touched), pa.string()))))
    rows = merged.current.select(UNRESOLVED_COLUMNS)
    if kept is not None:
        rows = pa.concat_tables([kept.cast(rows.schema), rows])
    dims = _dimensions(store)
    current = resolve(rows, dims["customers"], dims["products"], pipeline_settings.statuses())
    store.restate(table_of(ORDERS), "business_date", restated, current)

    # The dates of each landing day's versions, so a re-run revisits them; the rest go to the last day.
    footprint = defaultdict(set)
    for d, landing in zip(merged.headers.column("order_date").to_pylist(), merged.headers.column("landing_date").to_pylist()):
        if landing in days:
            footprint[landing].add(d)
    footprint[max(days)] |= restated
    restatements.record(store, table_of(ORDERS), days, footprint)

    new_rows = current.filter(pc.is_in(current.column("landing_date"), pa.array(days, pa.date32())))
    revenue = pc.sum(current.column("line_revenue")).as_py() or 0
    yield dg.Output(
        None,
        "orders",
        metadata=table_metadata(
            new_rows,
            row_count=current.num_rows,
            restated_dates=len(restated),
            versions_received=batch.headers.num_rows,
            revenue_of_restated_dates=float(revenue),
            quarantined_orders=batch.orders_quarantine.num_rows,
            quarantined_lines=batch.lines_quarantine.num_rows,
            unknown_customers=int(pc.sum(pc.invert(current.column("customer_known"))).as_py() or 0),
            unknown_products=int(pc.sum(pc.invert(current.column("product_known"))).as_py() or 0),
        )
        | {"restated": dg.MetadataValue.json(sorted(d.isoformat() for d in restated))},
    )
    for name, q in (("orders_quarantine", batch.orders_quarantine), ("lines_quarantine", batch.lines_quarantine)):
        yield dg.Output(q, name, metadata=table_metadata(q) | {"rules": rule_counts(q)})
    yield schema_check_result(ORDERS, check_schema("orders_validated", current))
    yield conservation_check_result(
        ORDERS,
        _conservation(bronze_orders.num_rows, batch.headers.num_rows, batch.orders_quarantine.num_rows),
        "order_conservation",
    )
    yield conservation_check_result(
        ORDERS,
        _conservation(
            bronze_order_items.num_rows, batch.lines.num_rows, batch.lines_quarantine.num_rows, batch.duplicate_lines
        ),
        "line_conservation",
    )


@dg.multi_asset(
    name="events_clean",
    ins={"bronze_events": dg.AssetIn(bronze_key("events"))},
    outs={
        "events": _iceberg_out(
            EVENTS,
            "Click-stream events by event date (`business_date`, in the store's time zone): every copy received, "
            "the first copy of an event id counted and the others flagged `is_duplicate`; counted events numbered "
            "in order within each session (`event_seq`), `unknown` for a missing device type or country.",
        )
    },
    check_specs=_checks(EVENTS, "row_conservation"),
    **DAILY_LAKE_STEP,
)
def events_clean(
    context: dg.AssetExecutionContext, bronze_events: pa.Table, tables: TablesResource, pipeline_settings: PipelineSettings
):
    days, store = partition_days(context), tables.store()
    incoming = new_events(bronze_events, pipeline_settings.timezone())
    table = table_of(EVENTS)
    dates = set(incoming.column("business_date").to_pylist()) | restatements.restated(store, table, days)
    merged = merge_events(store.read_dates(table, "business_date", dates), incoming, days)
    store.restate(table, "business_date", dates, merged)
    footprint = defaultdict(set)
    for d, landing in zip(incoming.column("business_date").to_pylist(), incoming.column("landing_date").to_pylist()):
        footprint[landing].add(d)
    footprint[max(days)] |= dates
    restatements.record(store, table, days, footprint)

    counted = merged.filter(pc.invert(merged.column("is_duplicate")))
    new_rows = merged.filter(pc.is_in(merged.column("landing_date"), pa.array(days, pa.date32())))
    duplicates = int(pc.sum(new_rows.column("is_duplicate")).as_py() or 0)
    yield dg.Output(
        None,
        "events",
        metadata=table_metadata(
            new_rows,
            restated_dates=len(dates),
            sessions=int(pc.sum(pc.equal(counted.column("event_seq"), 1)).as_py() or 0),
            duplicates_flagged=duplicates,
        )
        | {"restated": dg.MetadataValue.json(sorted(d.isoformat() for d in dates))},
    )
    yield schema_check_result(EVENTS, check_schema("events_clean", counted))
    yield conservation_check_result(EVENTS, _conservation(bronze_events.num_rows, new_rows.num_rows, 0))


silver_assets = [customers_clean, products_clean, orders_validated, events_clean]
