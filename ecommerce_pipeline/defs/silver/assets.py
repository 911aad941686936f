"""Silver: every version of what arrived, the current state of each order, and dimensions as history.

Silver tables are Apache Iceberg tables (``tables`` resource); their quarantine tables stay daily Parquet
beside bronze. A run reads only its landing days' bronze rows and the dates it restates, never the whole
history. Checks block gold on failure.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual, In, LessThanOrEqual, Or

from ecommerce_pipeline.contract import CUSTOMERS as CUSTOMERS_CONTRACT
from ecommerce_pipeline.defs import restatements
from ecommerce_pipeline.defs.bronze.assets import bronze_key, bronze_quarantine_key
from ecommerce_pipeline.defs.metadata import (
    PREVIEW_ROWS,
    check_partitions,
    conservation_check_result,
    count_by,
    day_conservation_checks,
    day_figures,
    day_schema_checks,
    describe_partitions,
    distinct,
    quarantine_output,
    schema_check_result,
    table_metadata,
)
from ecommerce_pipeline.defs.partitions import date_chunks, partition_days
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, OWNERS
from ecommerce_pipeline.defs.resources import PipelineSettings, TablesResource
from ecommerce_pipeline.defs.silver.field_issues import OUTPUT_NAME, field_issues_out, field_issues_output
from ecommerce_pipeline.quality.conservation import combined, stored_conservation
from ecommerce_pipeline.quality.schemas import SchemaOutcome, check_schema, checked_columns, combined_schema
from ecommerce_pipeline.storage.io_manager import lazily
from ecommerce_pipeline.storage.lake import PartitionScan, day_chunks
from ecommerce_pipeline.storage.tables import TableStore
from ecommerce_pipeline.transforms.customers import customers_clean as clean_customers
from ecommerce_pipeline.transforms.dimensions import CHANGES_SCHEMA, DimensionResult, affected_dates_sql
from ecommerce_pipeline.transforms.events import counted, merge_handed_over, new_events
from ecommerce_pipeline.transforms.field_quality import clean_fields
from ecommerce_pipeline.transforms.orders import (
    DIMENSION_COLUMNS,
    UNRESOLVED_COLUMNS,
    merge_versions,
    order_batch,
    resolve_handed_over,
)
from ecommerce_pipeline.transforms.products import products_clean as clean_products
from ecommerce_pipeline.transforms.sql import query, release_freed_memory

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
    specs = [
        dg.AssetCheckSpec("schema", asset=key, blocking=True, description="The rows written match the pandera schema.")
    ]
    specs += [
        dg.AssetCheckSpec(
            name, asset=key, blocking=True, description="Bronze rows of the run = stored + quarantined + duplicates."
        )
        for name in conservation
    ]
    return specs


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


def _dimension(
    store: TableStore, name: str, key: dg.AssetKey, result: DimensionResult, days: list[date], stored: pa.Table | None
) -> pa.Table:
    """Commit the merged history and the changes the orders step reads; returns the versions of ``days``.
    ``stored``: the history before the run. With no record of the run's days in bronze or in the history
    (a day without the entity's files), the history is the stored one and is not written again."""
    unchanged = (
        stored is not None
        and result.received == 0
        and not pc.any(pc.is_in(stored.column("landing_date"), pa.array(days, pa.date32()))).as_py()
    )
    if not unchanged:
        store.replace(table_of(key), result.history)
    _record_changes(store, name, days, result)
    return result.history.filter(pc.is_in(result.history.column("landing_date"), pa.array(days, pa.date32())))


def _keep(
    results: list, days: list[date], written: pa.Table, result: DimensionResult, key: dg.AssetKey, bronze: dict
) -> dict:
    """Keep what the step reports of a chunk: its check, its counts, and the whole history of the last chunk
    only (a year's backfill would otherwise hold one copy of the history per chunk). Returns each landing
    day's own checks: the schema of the versions it added, and its bronze rows = versions + quarantined."""
    if results:
        _, earlier, previous, check = results[-1]
        # Empty tables, not empty slices: a slice keeps the rows it was cut from alive.
        results[-1] = (
            None,
            earlier.schema.empty_table(),
            replace(previous, history=previous.history.schema.empty_table()),
            check,
        )
    check = check_schema(key.path[-1], written)
    results.append((days, written, result, check))
    stored, quarantined = count_by(written, "landing_date"), count_by(result.quarantine, "business_date")
    return {
        # Each landing day's rows are the versions it added.
        "figures": {d: {"dagster/row_count": stored[d], "quarantined_rows": quarantined[d]} for d in days},
        "schema": day_schema_checks(key, written, "landing_date", check, days),
        "row_conservation": day_conservation_checks(
            key, "row_conservation", {d: bronze[d] for d in days}, stored, quarantined
        ),
    }


def _merge_day_checks(into: dict, checks: dict) -> None:
    for name, per_day in checks.items():
        into.setdefault(name, {}).update(per_day)


def _describe_dimension_days(
    context: dg.AssetExecutionContext, key: dg.AssetKey, day_checks: dict, results: list
) -> None:
    describe_partitions(context, key, day_checks.pop("figures"), _dimension_metadata(key, results))
    check_partitions(context, *day_checks.values())


def _dimension_metadata(key: dg.AssetKey, results: list) -> dict:
    _, today, last, _ = results[-1]
    id_column = next(c for c in last.history.column_names if c.endswith("_id"))
    return table_metadata(
        today,
        described_as=table_of(key),
        row_count=last.history.num_rows,
        versions_received=sum(r.versions_added for _, _, r, _ in results),
        keys=len(pc.unique(last.history.column(id_column))),
        keys_changed=sum(len(pc.unique(r.changes.column("key"))) for _, _, r, _ in results),
        quarantined_rows=sum(r.quarantine.num_rows for _, _, r, _ in results),
    )


# Bronze rows a chunk of a long backfill reads at once.
CHUNK_ROWS = 500_000


def _chunks(context: dg.AssetExecutionContext, *scans: PartitionScan):
    return day_chunks(list(scans), partition_days(context), CHUNK_ROWS)


@dg.multi_asset(
    name="customers_clean",
    ins={"bronze_customers": dg.AssetIn(bronze_key("customers"), metadata=lazily())},
    outs={
        "customers": _iceberg_out(
            CUSTOMERS,
            "Customers as history (type 2): one row per version received, e-mail lower-cased and validated, phone "
            "in E.164, defaults for missing optional fields and `region` (state, or country); `valid_from`, "
            "`valid_to` and `is_current` say when each version applied. Orders take the version valid at their time.",
        ),
        "quarantine": _parquet_out(
            CUSTOMERS_QUARANTINE,
            "Customer records of the day that failed a silver rule (an invalid e-mail or phone only loses the "
            "value: see quarantine.field_issues).",
        ),
        OUTPUT_NAME: field_issues_out(),
    },
    check_specs=_checks(CUSTOMERS, "row_conservation"),
    **DAILY_LAKE_STEP,
)
def customers_clean(
    context: dg.AssetExecutionContext,
    bronze_customers: PartitionScan,
    tables: TablesResource,
    pipeline_settings: PipelineSettings,
):
    release_freed_memory()  # what the steps before left
    store, results, issues, day_checks = tables.store(), [], [], {}
    bronze = bronze_rows_by_day(bronze_customers)
    for days in _chunks(context, bronze_customers):
        # Field-level quality first: an invalid e-mail or phone loses the value, never the customer.
        fields = clean_fields(CUSTOMERS_CONTRACT, bronze_customers.of_days(days), pipeline_settings.phone_country())
        issues.append(fields.issues)
        stored = store.read(table_of(CUSTOMERS))
        result = clean_customers(fields.table, stored, days, pipeline_settings.phone_country(), fields_cleaned=True)
        written = _dimension(store, "customers", CUSTOMERS, result, days, stored)
        del stored
        _merge_day_checks(day_checks, _keep(results, days, written, result, CUSTOMERS, bronze))
    _describe_dimension_days(context, CUSTOMERS, day_checks, results)
    yield dg.Output(None, "customers")
    quarantine = pa.concat_tables([r.quarantine for _, _, r, _ in results])
    yield quarantine_output(context, CUSTOMERS_QUARANTINE, "quarantine", quarantine)
    yield field_issues_output(context, pa.concat_tables(issues))
    yield schema_check_result(CUSTOMERS, combined_schema([c for *_, c in results]))
    yield conservation_check_result(
        CUSTOMERS,
        combined([stored_conservation(r.received, r.versions_added, r.quarantine.num_rows) for _, _, r, _ in results]),
    )


@dg.multi_asset(
    name="products_clean",
    ins={"bronze_products": dg.AssetIn(bronze_key("products"), metadata=lazily())},
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
def products_clean(context: dg.AssetExecutionContext, bronze_products: PartitionScan, tables: TablesResource):
    store, results, day_checks = tables.store(), [], {}
    bronze = bronze_rows_by_day(bronze_products)
    for days in _chunks(context, bronze_products):
        stored = store.read(table_of(PRODUCTS))
        result = clean_products(bronze_products.of_days(days), stored, days)
        written = _dimension(store, "products", PRODUCTS, result, days, stored)
        del stored
        _merge_day_checks(day_checks, _keep(results, days, written, result, PRODUCTS, bronze))
    _describe_dimension_days(context, PRODUCTS, day_checks, results)
    yield dg.Output(None, "products")
    yield schema_check_result(PRODUCTS, combined_schema([c for *_, c in results]))
    yield conservation_check_result(
        PRODUCTS, combined([stored_conservation(r.received, r.versions_added, 0) for _, _, r, _ in results])
    )


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
    touched = ids | distinct(replaced.column("order_id"))
    extra = touched - ids
    if extra:  # orders only in a replaced landing day: find all their versions
        more = store.read(ORDER_VERSIONS, ["order_id", "order_date"], In("order_id", sorted(extra)))
        index = pa.concat_tables([index.select(["order_id", "order_date"]), more])
    mask = pc.is_in(index.column("order_id"), pa.array(sorted(touched), pa.string()))
    return touched, distinct(index.filter(mask).column("order_date"))


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
        keys = sorted(distinct(c.column("key")))
        where = None
        froms = c.column("from_ts")
        if froms.null_count == 0:  # no key's first version changed: nothing before the earliest change moves
            where = GreaterThanOrEqual("order_date", (pc.min(froms).as_py().date() - _DAY).isoformat())
        # Looked up by key, not by a key range: customer ids do not grow with time, so a range of a night's
        # new customers spans nearly every order, and reading those rows cost seconds and hundreds of MiB.
        facts = store.read_keys(table_of(ORDERS), [column, "order_ts", "order_date"], column, keys, where)
        found = query(
            affected_dates_sql("facts", column, "order_ts", "order_date"),
            facts=facts,
            changes=c.select(["key", "from_ts", "to_ts"]),
        )
        dates |= distinct(found.column("d"))
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


def _resolve_dates(
    store: TableStore, dates: set[date], rows: list[pa.Table], replaced: set[str], settings: PipelineSettings
) -> pa.Table:
    """Rewrite the current rows of ``dates``: the stored rows of orders not in ``replaced``, plus the table in
    ``rows``, if any (the new current state of the replaced orders, handed over: ``rows`` is emptied), each
    resolved against the dimensions' versions."""
    stored = store.read_dates(table_of(ORDERS), "business_date", dates, UNRESOLVED_COLUMNS)
    if stored is not None:
        kept = stored.filter(pc.invert(pc.is_in(stored.column("order_id"), pa.array(sorted(replaced), pa.string()))))
        rows[:] = [pa.concat_tables([kept.cast(rows[0].schema), rows[0]]) if rows else kept]
        del stored, kept
    dims = _dimensions(store)
    current = resolve_handed_over(rows, dims["customers"], dims["products"], settings.statuses())
    store.restate(table_of(ORDERS), "business_date", dates, current)
    return current


@dataclass
class OrdersStep:
    """What one chunk of landing days did to the orders: counts, quarantines and the check of what it wrote
    (never its rows, so a year's backfill holds one chunk's rows at a time)."""

    versions: int  # order versions received
    versions_by_day: Counter  # landing day -> versions received
    lines: int  # line versions received
    lines_by_day: Counter  # landing day -> line versions received
    duplicate_lines: dict  # landing day -> line copies superseded within the day
    orders_quarantine: pa.Table
    lines_quarantine: pa.Table
    check: SchemaOutcome
    preview: pa.Table  # the first current rows written
    restated: set[date]
    day_checks: dict  # order date -> the schema check of that date's current rows


def _orders_step(
    store: TableStore, days: list[date], orders, items, rejected, settings: PipelineSettings
) -> OrdersStep:
    batch = order_batch(orders, items, rejected, settings.timezone(), settings.currency())
    del orders, items, rejected  # the chunk's bronze rows: the batch holds what is needed of them
    # What the step reports of the batch is taken now (counts, not columns: any column of a DuckDB result keeps
    # every column of it alive, as pyarrow releases an imported batch as a whole), so each of the chunk's large
    # tables can go as soon as the next one is made: a chunk's peak is a few copies of its rows, not all of them.
    received = {
        "versions": batch.headers.num_rows,
        "versions_by_day": count_by(batch.headers, "landing_date"),
        "lines": batch.lines.num_rows,
        "lines_by_day": count_by(batch.lines, "version_landing_date"),
        "duplicate_lines": batch.duplicate_lines_by_day,
        "orders_quarantine": batch.orders_quarantine,
        "lines_quarantine": batch.lines_quarantine,
    }
    new_ids = distinct(batch.headers.column("order_id"))
    touched, old_dates = _version_dates(store, new_ids, days)
    version_dates = old_dates | distinct(batch.headers.column("order_date"))
    merged = merge_versions(
        store.read_dates(ORDER_VERSIONS, "order_date", version_dates),
        store.read_dates(LINE_VERSIONS, "order_date", version_dates),
        batch,
        days,
        sorted(touched),
    )
    del batch
    store.restate(ORDER_VERSIONS, "order_date", version_dates, merged.headers)
    store.restate(LINE_VERSIONS, "order_date", version_dates, merged.lines)

    restated = version_dates | distinct(merged.current.column("order_date"))
    # The dates of each landing day's versions, so a re-run revisits them; the rest go to the last day.
    footprint = defaultdict(set, restatements.footprint(merged.headers, "order_date", "landing_date", days))
    footprint[max(days)] |= restated
    # Handed over: the resolve lets the rows go once it has copied them.
    current_rows = [merged.current.select(UNRESOLVED_COLUMNS)]
    del merged
    current = _resolve_dates(store, restated, current_rows, touched, settings)
    restatements.record(store, table_of(ORDERS), days, footprint)
    check = check_schema("orders_validated", current)
    return OrdersStep(
        **received,
        check=check,
        # A copy: a slice would keep every chunk's rows alive in ``steps`` until the step ends (1.3 GiB of a
        # year's backfill).
        preview=current.take(pa.array(range(min(PREVIEW_ROWS, current.num_rows)), pa.int64())),
        restated=restated,
        day_checks=day_schema_checks(ORDERS, current, "business_date", check, restated),
    )


def _reresolve(
    store: TableStore, dates: set[date], last_day: date, settings: PipelineSettings, day_checks: dict
) -> list:
    """Re-resolve the stored orders of ``dates`` against the dimensions, a chunk of dates at a time, and log
    the dates as restated by the run's last landing day (gold rebuilds them). Each date's check goes to
    ``day_checks``."""
    checks = []
    for chunk in date_chunks(dates, store.rows_of_dates(table_of(ORDERS), "business_date", sorted(dates))):
        current = _resolve_dates(store, set(chunk), [], set(), settings)
        checks.append(check_schema("orders_validated", current))
        day_checks.update(day_schema_checks(ORDERS, current, "business_date", checks[-1], chunk))
    restatements.record(
        store,
        table_of(ORDERS),
        [last_day],
        {last_day: restatements.restated(store, table_of(ORDERS), [last_day]) | dates},
    )
    return checks


@dg.multi_asset(
    name="orders_validated",
    ins={
        "bronze_orders": dg.AssetIn(bronze_key("orders"), metadata=lazily()),
        "bronze_order_items": dg.AssetIn(bronze_key("order_items"), metadata=lazily()),
        "order_items_rejected": dg.AssetIn(bronze_quarantine_key("order_items"), metadata=lazily()),
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
        "orders_quarantine": _parquet_out(
            ORDERS_QUARANTINE, "Order versions of the day held back by a silver rule, with the reason."
        ),
        "lines_quarantine": _parquet_out(
            LINES_QUARANTINE, "Order lines of the day held back by a silver rule, with the reason."
        ),
    },
    check_specs=_checks(ORDERS, "order_conservation", "line_conservation"),
    **DAILY_LAKE_STEP,
)
def orders_validated(
    context: dg.AssetExecutionContext,
    bronze_orders: PartitionScan,
    bronze_order_items: PartitionScan,
    order_items_rejected: PartitionScan,
    tables: TablesResource,
    pipeline_settings: PipelineSettings,
):
    release_freed_memory()  # what the steps before left
    store, steps = tables.store(), []
    # Orders stored before this run whose customer or product version the run's dimension changes may alter.
    # Found once, before any chunk: the run's own orders are resolved against the dimensions as the dimension
    # steps left them, so a chunk never needs to revisit what an earlier chunk of the same run wrote.
    dimension_dates = _dimension_affected_dates(store, partition_days(context))
    for days in _chunks(context, bronze_orders, bronze_order_items):
        steps.append(
            _orders_step(
                store,
                days,
                bronze_orders.of_days(days),
                bronze_order_items.of_days(days),
                order_items_rejected.of_days(days),
                pipeline_settings,
            )
        )
    restated = set().union(*(s.restated for s in steps))
    checks = [s.check for s in steps]
    day_checks = {}  # a date a later chunk rewrote is described by that chunk's check
    for s in steps:
        day_checks.update(s.day_checks)
    if dimension_dates - restated:
        checks += _reresolve(
            store, dimension_dates - restated, max(partition_days(context)), pipeline_settings, day_checks
        )
        restated |= dimension_dates
    orders_q = pa.concat_tables([s.orders_quarantine for s in steps])
    lines_q = pa.concat_tables([s.lines_quarantine for s in steps])
    # Each partition: the current rows of its own order date, and what its landing day brought.
    days = partition_days(context)
    _check_stored_dates(store, ORDERS, "orders_validated", [d for d in days if d not in day_checks], day_checks)
    bronze_orders_by_day, bronze_lines_by_day = (
        bronze_rows_by_day(bronze_orders),
        bronze_rows_by_day(bronze_order_items),
    )
    versions_by_day = sum((s.versions_by_day for s in steps), Counter())
    quarantined_by_day = count_by(orders_q, "business_date")
    duplicates = sum((Counter(s.duplicate_lines) for s in steps), Counter())
    check_partitions(
        context,
        day_checks,
        day_conservation_checks(
            ORDERS, "order_conservation", bronze_orders_by_day, versions_by_day, quarantined_by_day
        ),
        day_conservation_checks(
            ORDERS,
            "line_conservation",
            bronze_lines_by_day,
            sum((s.lines_by_day for s in steps), Counter()),
            count_by(lines_q, "business_date"),
            duplicates,
        ),
    )
    # The stored rows of the partitions' dates and of the restated ones, read once in the narrow columns the
    # figures need (a year's run reads 361 dates' files: twice took a second more).
    stored = store.read_dates(
        table_of(ORDERS),
        "business_date",
        set(days) | restated,
        ["business_date", "line_revenue", "customer_known", "product_known"],
    )
    figures = day_figures(stored, "business_date", {"revenue": "line_revenue"}, days)
    for day in days:
        figures[day] |= {"versions_received": versions_by_day[day], "quarantined_orders": quarantined_by_day[day]}
    # The run's figures over the restated dates.
    current = stored.filter(pc.is_in(stored.column("business_date"), pa.array(sorted(restated), pa.date32())))
    describe_partitions(
        context,
        ORDERS,
        figures,
        table_metadata(
            steps[-1].preview,
            row_count=current.num_rows,
            described_as=table_of(ORDERS),
            restated_dates=len(restated),
            versions_received=sum(s.versions for s in steps),
            revenue_of_restated_dates=float(pc.sum(current.column("line_revenue")).as_py() or 0),
            quarantined_orders=orders_q.num_rows,
            quarantined_lines=lines_q.num_rows,
            unknown_customers=int(pc.sum(pc.invert(current.column("customer_known"))).as_py() or 0),
            unknown_products=int(pc.sum(pc.invert(current.column("product_known"))).as_py() or 0),
        )
        | {"restated": dg.MetadataValue.json(sorted(d.isoformat() for d in restated))},
    )
    yield dg.Output(None, "orders")
    yield quarantine_output(context, ORDERS_QUARANTINE, "orders_quarantine", orders_q)
    yield quarantine_output(context, LINES_QUARANTINE, "lines_quarantine", lines_q)
    yield schema_check_result(ORDERS, combined_schema(checks))
    yield conservation_check_result(
        ORDERS,
        stored_conservation(sum(bronze_orders_by_day.values()), sum(s.versions for s in steps), orders_q.num_rows),
        "order_conservation",
    )
    yield conservation_check_result(
        ORDERS,
        stored_conservation(
            sum(bronze_lines_by_day.values()),
            sum(s.lines for s in steps),
            lines_q.num_rows,
            sum(duplicates.values()),
        ),
        "line_conservation",
    )


def bronze_rows_by_day(scan: PartitionScan) -> dict[date, int]:
    """Rows of each of the run's bronze partitions, counted from the files (not taken from the transform)."""
    return {d: scan.lake.partition_rows(scan.table, d) for d in scan.days}


def _check_stored_dates(
    store: TableStore,
    key: dg.AssetKey,
    schema: str,
    dates: list[date],
    into: dict,
    extra: tuple[str, ...] = (),
    checked=lambda rows: rows,
) -> pa.Table | None:
    """The schema check of the stored rows of partitions whose date the run did not rewrite (a day with no
    landing file still shows its own check), over the rows ``checked`` keeps, as the run's own chunks are
    checked. Returns the rows read (with the ``extra`` columns) for the partitions' figures."""
    if not dates:
        return None
    columns = list(dict.fromkeys([*checked_columns(schema), "business_date", *extra]))
    rows = store.read_dates(table_of(key), "business_date", dates, columns)
    if rows is not None:
        kept = checked(rows)
        outcome = check_schema(schema, kept.select(checked_columns(schema)))
        into.update(day_schema_checks(key, kept, "business_date", outcome, dates))
    return rows


# What events_clean reads of its counted events: the schema check's columns, the date and the session order.
_EVENT_CHECK_COLUMNS = list(
    dict.fromkeys([*checked_columns("events_clean"), "business_date", "event_seq", "is_duplicate"])
)


@dg.multi_asset(
    name="events_clean",
    ins={"bronze_events": dg.AssetIn(bronze_key("events"), metadata=lazily())},
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
    context: dg.AssetExecutionContext,
    bronze_events: PartitionScan,
    tables: TablesResource,
    pipeline_settings: PipelineSettings,
):
    release_freed_memory()  # what the steps before left: this step's day is the largest
    store, table = tables.store(), table_of(EVENTS)
    restated, stored_rows, duplicates, sessions, checks, preview = set(), 0, 0, 0, [], None
    stored_by_day, day_checks, figures = Counter(), {}, {}
    for days in _chunks(context, bronze_events):
        arrived, earlier = bronze_events.of_days(days), restatements.restated(store, table, days)
        if not arrived.num_rows and not earlier and store.exists(table):
            # No event arrived and the days' earlier runs restated no date: nothing to rewrite, no log to clear.
            continue
        incoming = new_events(arrived, pipeline_settings.timezone())
        del arrived
        dates = distinct(incoming.column("business_date")) | earlier
        footprint = defaultdict(set, restatements.footprint(incoming, "business_date", "landing_date", days))
        footprint[max(days)] |= dates
        # Handed over, not passed: with no reference left here, each column of the day's events is let go as
        # soon as the merge has moved it, and the day is held once, not twice.
        sources = [store.read_dates(table, "business_date", dates), incoming]
        del incoming
        merged = merge_handed_over(sources, days)
        store.restate(table, "business_date", dates, merged)
        release_freed_memory()  # the write's buffers, before the copies the check and the figures take
        restatements.record(store, table, days, footprint)
        counts = merged.select(["landing_date", "is_duplicate"])  # narrow: the filter copies what it keeps
        new_rows = counts.filter(pc.is_in(counts.column("landing_date"), pa.array(days, pa.date32())))
        stored_rows += new_rows.num_rows
        stored_by_day += count_by(new_rows, "landing_date")
        duplicates += int(pc.sum(new_rows.column("is_duplicate")).as_py() or 0)
        figures.update(_event_day_figures(merged, dates))
        # numpy, not pc.indices_nonzero: pyarrow 25's crashes the process on a column without chunks (no events).
        first_counted = np.flatnonzero(~merged.column("is_duplicate").to_numpy(zero_copy_only=False))
        preview = merged.take(pa.array(first_counted[:PREVIEW_ROWS], pa.int64()))  # a copy, not a view
        # The counted events in the columns the check reads, and the chunk's events let go before it runs: the
        # check's hash of the key would otherwise sit on top of both (a day of clicks has wide URL columns).
        kept = counted(merged.select(_EVENT_CHECK_COLUMNS))
        del merged, counts, new_rows, first_counted
        release_freed_memory()  # the chunk's events, before the check hashes the key
        sessions += int(pc.sum(pc.equal(kept.column("event_seq"), 1)).as_py() or 0)
        checks.append(check_schema("events_clean", kept.select(checked_columns("events_clean"))))
        day_checks.update(day_schema_checks(EVENTS, kept, "business_date", checks[-1], dates))
        restated |= dates
        del kept  # before the next chunk is read, not when replaced
    days = partition_days(context)
    untouched = [d for d in days if d not in day_checks]
    # A flagged copy of an event is not checked, as in the run's own chunks.
    stored = _check_stored_dates(
        store, EVENTS, "events_clean", untouched, day_checks, ("is_duplicate", "event_seq"), counted
    )
    figures.update(_event_day_figures(stored, untouched))
    if preview is None:  # every chunk was without events: the table's columns, no rows
        preview = store.read_dates(table, "business_date", [])
    describe_partitions(
        context,
        EVENTS,
        {d: figures[d] for d in days if d in figures},
        table_metadata(
            preview,
            described_as=table_of(EVENTS),
            row_count=stored_rows,
            restated_dates=len(restated),
            sessions=sessions,
            duplicates_flagged=duplicates,
        )
        | {"restated": dg.MetadataValue.json(sorted(d.isoformat() for d in restated))},
    )
    bronze = bronze_rows_by_day(bronze_events)
    check_partitions(
        context,
        day_checks,
        day_conservation_checks(EVENTS, "row_conservation", bronze, stored_by_day, Counter()),
    )
    yield dg.Output(None, "events")
    yield schema_check_result(EVENTS, combined_schema(checks))
    yield conservation_check_result(EVENTS, stored_conservation(sum(bronze.values()), stored_rows, 0))


def _event_day_figures(events: pa.Table | None, dates) -> dict:
    """Per event date: the events stored (every copy), the sessions and the copies flagged as duplicates."""
    if events is None:
        return {}
    duplicate = events.column("is_duplicate")
    flags = pa.table(
        {
            "business_date": events.column("business_date"),
            "session": pc.and_(pc.invert(duplicate), pc.equal(events.column("event_seq"), 1)).cast(pa.int64()),
            "duplicate": duplicate.cast(pa.int64()),
        }
    )
    figures = day_figures(flags, "business_date", {"sessions": "session", "duplicates_flagged": "duplicate"}, dates)
    return {d: {k: int(v) for k, v in f.items()} for d, f in figures.items()}


silver_assets = [customers_clean, products_clean, orders_validated, events_clean]
