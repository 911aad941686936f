"""Gold on Athena (ECOM_GOLD_ENGINE=athena): the whole-history tables computed where the data lives.

Same asset keys, partitions, checks and gold Iceberg tables as the in-process assets; the difference is
that no order history is loaded into this process. Athena reads the silver Iceberg tables that pyiceberg
registers in Glue at each commit. What Athena stages is verified before anything is committed
(``catalog/athena_gold.py``): a refusal fails the step and leaves the gold table at its snapshot.
"""

import uuid
from datetime import date

import dagster as dg
import pyarrow as pa
from pyiceberg.expressions import And, EqualTo, In

from ecommerce_pipeline.catalog.athena_gold import UnloadRefused, compute_on_athena, days_relation
from ecommerce_pipeline.catalog.glue import glue_table_name
from ecommerce_pipeline.defs.gold.assets import _gold, _latest_landing_day, gold_assets, product_dates
from ecommerce_pipeline.defs.metadata import column_sum, describe_partitions, schema_check_result, table_metadata
from ecommerce_pipeline.defs.partitions import partition_days
from ecommerce_pipeline.defs.resources import AwsCatalogResource, TablesResource
from ecommerce_pipeline.defs.silver.assets import EVENTS, ORDERS, PRODUCTS
from ecommerce_pipeline.quality.schemas import check_schema
from ecommerce_pipeline.settings import Settings
from ecommerce_pipeline.storage.io_manager import table_name
from ecommerce_pipeline.storage.tables import TableStore
from ecommerce_pipeline.transforms import customer_lifetime_value as clv
from ecommerce_pipeline.transforms import product_performance as performance


def _on_athena(name: str) -> dict:
    return {**_gold(name, ORDERS), "kinds": {"athena", "iceberg"}}


class IcebergPublisher:
    """What ``compute_on_athena`` publishes into: the staged days are collected and committed to the gold
    Iceberg table in one restatement (readers see all the dates or none); staging stays on S3."""

    def __init__(self, lake, store: TableStore, table: str):
        self.lake, self.store, self.table = lake, store, table
        self.parts: dict[date, pa.Table] = {}

    def __getattr__(self, name):  # staging_location, read_folder, delete_folder
        return getattr(self.lake, name)

    def write_partition(self, table: str, day: date, data: pa.Table):
        self.parts[day] = data

    def commit(self, schema: pa.Schema, replace_all: bool = False) -> pa.Table:
        data = pa.concat_tables([self.parts[d] for d in sorted(self.parts)]) if self.parts else schema.empty_table()
        if replace_all:
            self.store.replace(self.table, data)
        else:
            self.store.restate(self.table, "business_date", set(self.parts), data)
        return data


def _run(
    context,
    aws: AwsCatalogResource,
    store: TableStore,
    name: str,
    relations,
    days,
    schema,
    replace_all,
    days_with_input,
    **numbers,
):
    """Compute ``gold/<name>`` for ``days`` on Athena, commit it to the Iceberg table and describe it.

    ``days_with_input(chunk)``: the days whose silver inputs have rows, so their result cannot be empty. When
    what Athena staged is refused (``UnloadRefused``), nothing is committed: the gold table keeps its rows."""
    table = f"gold/{name}"
    publisher = IcebergPublisher(aws.lake(), store, table)
    try:
        runs = compute_on_athena(
            aws.athena(),
            publisher,
            table,
            relations,
            days,
            schema,
            token=f"{context.run.run_id}-{uuid.uuid4().hex[:8]}",
            days_with_input=days_with_input,
        )
    except UnloadRefused as refused:
        # What Athena staged disagrees with what it counts: running the same SQL again would not help.
        raise dg.Failure(description=str(refused), allow_retries=False) from refused
    written = publisher.commit(schema, replace_all)
    scanned = sum(r.bytes_scanned for r in runs)
    run = {
        **table_metadata(written, described_as=table, **{k: f(written) for k, f in numbers.items()}),
        "engine": "athena",
        "athena_query_ids": dg.MetadataValue.json([r.query_id for r in runs]),
        "bytes_scanned": scanned,
        "estimated_cost_usd": round(sum(r.estimated_cost_usd for r in runs), 8),
    }
    describe_partitions(context, dg.AssetKey(["gold", name]), {}, run)
    yield dg.MaterializeResult()
    yield schema_check_result(dg.AssetKey(["gold", name]), check_schema(name, written))


def _silver(key: dg.AssetKey) -> str:
    return glue_table_name(table_name(key))


def _dates_in(column: str, dates) -> str:
    listed = ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(dates)) or "NULL"
    return f"{column} IN ({listed})"


@dg.asset(**_on_athena("customer_lifetime_value"))
def customer_lifetime_value(context: dg.AssetExecutionContext, aws: AwsCatalogResource, tables: TablesResource):
    """Every customer's lifetime as of the latest landing day processed: orders, total spent, average order
    value, first and last order dates and days since each, recency/frequency/monetary scores from 1 to 5 and
    an RFM segment. Computed by Athena over the current state of every order (the Iceberg table
    `silver_orders_validated` in Glue)."""
    store = tables.store()
    as_of = _latest_landing_day(store, partition_days(context))

    def relations(chunk: list[date]) -> dict[str, str]:
        return {"orders": _silver(ORDERS), "as_of": days_relation(chunk)}

    def days_with_input(chunk: list[date]) -> set[date]:
        """A revenue line in the current state of the orders: the lifetime values cannot be empty."""
        return set(chunk) if store.has_rows(table_name(ORDERS), EqualTo("is_revenue", True)) else set()

    yield from _run(
        context,
        aws,
        store,
        "customer_lifetime_value",
        relations,
        [as_of],
        clv.output_schema(),
        True,
        days_with_input,
        customers=lambda t: t.num_rows,
        lifetime_revenue=lambda t: column_sum(t, "total_spent"),
    )


@dg.asset(**{**_on_athena("product_performance"), "deps": [ORDERS, EVENTS, PRODUCTS]})
def product_performance(context: dg.AssetExecutionContext, aws: AwsCatalogResource, tables: TablesResource):
    """Per product, date and currency: orders, units and revenue, the product's revenue rank within its
    category, product views and add-to-carts, and the view-to-purchase rate. Computed by Athena over the
    restated dates of the silver Iceberg tables in Glue."""
    store, days = tables.store(), partition_days(context)
    dates = product_dates(store, days)

    def relations(chunk: list[date]) -> dict[str, str]:
        return {
            "orders_validated": f"(SELECT * FROM {_silver(ORDERS)} WHERE {_dates_in('business_date', chunk)})",
            "events_clean": f"(SELECT * FROM {_silver(EVENTS)} WHERE {_dates_in('business_date', chunk)} AND NOT is_duplicate)",
            "products_clean": _silver(PRODUCTS),
        }

    def days_with_input(chunk: list[date]) -> set[date]:
        """Dates with a revenue line: each gives at least one product row."""
        sold = store.read(
            table_name(ORDERS), ["business_date"], And(In("business_date", chunk), EqualTo("is_revenue", True))
        )
        return set() if sold is None else set(sold.column("business_date").to_pylist())

    yield from _run(
        context,
        aws,
        store,
        "product_performance",
        relations,
        sorted(dates),
        performance.output_schema(),
        False,
        days_with_input,
        revenue=lambda t: column_sum(t, "revenue"),
        product_views=lambda t: column_sum(t, "product_views"),
    )


athena_gold_assets = [customer_lifetime_value, product_performance]


def gold_assets_for(settings: Settings) -> list[dg.AssetsDefinition]:
    """The gold assets of the configured engine (ECOM_GOLD_ENGINE): Athena's replace the in-process ones."""
    if settings.gold_engine == "local":
        return gold_assets
    if settings.gold_engine != "athena":
        raise ValueError(f"ECOM_GOLD_ENGINE={settings.gold_engine!r} is not one of local, athena")
    if settings.env != "aws":
        raise ValueError("ECOM_GOLD_ENGINE=athena needs ECOM_ENV=aws: Athena reads the tables registered in Glue")
    replaced = {key for asset in athena_gold_assets for key in asset.keys}
    return [a for a in gold_assets if not set(a.keys) & replaced] + athena_gold_assets
