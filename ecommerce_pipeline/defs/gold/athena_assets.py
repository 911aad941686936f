"""Gold on Athena (ECOM_GOLD_ENGINE=athena): the whole-history tables computed where the data lives.

Same asset keys, partitions, checks and lake partitions as the in-process assets; the difference is
that no order history is loaded into this process. Athena reads the silver tables through Glue, so
each asset depends on the Glue registration of its inputs, and registers any input partition still
missing from Glue before it submits (a day materialized without its catalog step would otherwise be
silently left out of the history).
"""

import uuid
from datetime import date, timedelta

import dagster as dg

from ecommerce_pipeline.catalog.athena_gold import (
    UnloadRefused,
    compute_on_athena,
    days_relation,
    parquet_rows,
    partitions_of,
)
from ecommerce_pipeline.catalog.glue import glue_table_name
from ecommerce_pipeline.defs.catalog.aws_assets import glue_key, register_unregistered
from ecommerce_pipeline.defs.gold.assets import _gold, gold_assets
from ecommerce_pipeline.defs.metadata import column_sum, schema_check_result, table_metadata
from ecommerce_pipeline.defs.partitions import HISTORY_DAYS, history_window, partition_days
from ecommerce_pipeline.defs.resources import AwsCatalogResource
from ecommerce_pipeline.defs.silver.assets import EVENTS, ORDERS, PRODUCTS
from ecommerce_pipeline.quality.schemas import check_schema
from ecommerce_pipeline.settings import Settings
from ecommerce_pipeline.storage.io_manager import table_name
from ecommerce_pipeline.storage.s3_lake import S3Lake
from ecommerce_pipeline.transforms import customer_lifetime_value as clv
from ecommerce_pipeline.transforms import product_performance as performance


def _on_athena(name: str) -> dict:
    return {**_gold(name), "kinds": {"athena", "parquet"}}


class InputRows:
    """Which days have input rows in the lake, from the Parquet footers of the inputs' partitions (two small
    ranged GETs a file, each file read at most once): the Athena result of such a day must not be empty."""

    def __init__(self, lake: S3Lake, table: str):
        self.lake, self.table = lake, table
        self.files = dict(lake.partition_files(table))
        self._rows: dict[date, int] = {}

    def rows(self, day: date) -> int:
        if day not in self._rows:
            self._rows[day] = parquet_rows(self.lake.session, self.files[day]) if day in self.files else 0
        return self._rows[day]

    def any_between(self, first: date, last: date) -> bool:
        """Whether a partition in [first, last] has rows, newest first (usually the day itself answers)."""
        return any(self.rows(d) for d in sorted(self.files, reverse=True) if first <= d <= last)


def _run(
    context: dg.AssetExecutionContext, aws: AwsCatalogResource, name: str, relations, schema, days_with_input, **numbers
):
    """Compute ``gold/<name>`` on Athena, then describe and check the partitions as written to S3."""
    table, days = f"gold/{name}", partition_days(context)
    lake, athena = aws.lake(), aws.athena()
    try:
        runs = compute_on_athena(
            athena,
            lake,
            table,
            relations,
            days,
            schema,
            token=f"{context.run.run_id}-{uuid.uuid4().hex[:8]}",
            days_with_input=lambda chunk: days_with_input(lake, chunk),
        )
    except UnloadRefused as refused:
        # What Athena staged disagrees with what it counts: running the same SQL again would not help.
        raise dg.Failure(description=str(refused), allow_retries=False) from refused
    # The check reads back what was published, so it judges the files downstream readers get.
    written = lake.read_partitions(table, days)
    scanned = sum(r.bytes_scanned for r in runs)
    yield dg.MaterializeResult(
        metadata={
            **table_metadata(written, **{k: f(written) for k, f in numbers.items()}),
            "engine": "athena",
            "athena_query_ids": dg.MetadataValue.json([r.query_id for r in runs]),
            "bytes_scanned": scanned,
            "estimated_cost_usd": round(sum(r.estimated_cost_usd for r in runs), 8),
        }
    )
    yield schema_check_result(dg.AssetKey(["gold", name]), check_schema(name, written))


@dg.asset(
    deps=[dg.AssetDep(glue_key(ORDERS), partition_mapping=history_window)],
    **_on_athena("customer_lifetime_value"),
)
def customer_lifetime_value(context: dg.AssetExecutionContext, aws: AwsCatalogResource):
    """Every customer's lifetime up to the day: orders, total spent, average order value, first and last
    order dates and days since each, recency/frequency/monetary scores from 1 to 5 and an RFM segment
    (Champions, Loyal, Potential Loyalist, New, Need Attention, At Risk, Hibernating, Lost). Computed by
    Athena over the whole order history in the Glue catalog."""
    days = partition_days(context)
    orders = table_name(ORDERS)
    register_unregistered(aws, orders, min(days) - timedelta(days=HISTORY_DAYS), max(days))
    history = glue_table_name(orders)

    def relations(chunk: list[date]) -> dict[str, str]:
        return {"history": history, "as_of_days": days_relation(chunk)}

    def days_with_input(lake: S3Lake, chunk: list[date]) -> set[date]:
        """Days with an order line in their history window: their lifetime values cannot be empty."""
        inputs = InputRows(lake, orders)
        return {day for day in chunk if inputs.any_between(day - timedelta(days=HISTORY_DAYS), day)}

    yield from _run(
        context,
        aws,
        "customer_lifetime_value",
        relations,
        clv.output_schema(),
        days_with_input,
        customers=lambda t: t.num_rows,
        lifetime_revenue=lambda t: column_sum(t, "total_spent"),
    )


PRODUCT_INPUTS = {"orders_validated": ORDERS, "events_clean": EVENTS, "products_clean": PRODUCTS}


@dg.asset(deps=[glue_key(key) for key in PRODUCT_INPUTS.values()], **_on_athena("product_performance"))
def product_performance(context: dg.AssetExecutionContext, aws: AwsCatalogResource):
    """Per product and day: orders, units and revenue, the product's revenue rank within its category,
    product views and add-to-carts from the click stream, and the view-to-purchase rate (orders / views).
    Computed by Athena over the day's silver tables in the Glue catalog."""
    days = partition_days(context)
    for key in PRODUCT_INPUTS.values():
        register_unregistered(aws, table_name(key), min(days), max(days))

    def relations(chunk: list[date]) -> dict[str, str]:
        return {name: partitions_of(glue_table_name(table_name(key)), chunk) for name, key in PRODUCT_INPUTS.items()}

    def days_with_input(lake: S3Lake, chunk: list[date]) -> set[date]:
        """Days with order lines: they give at least one product row (unless every line of the day carries
        no revenue and no product was viewed, which a store's day does not look like)."""
        inputs = InputRows(lake, table_name(ORDERS))
        return {day for day in chunk if inputs.rows(day)}

    yield from _run(
        context,
        aws,
        "product_performance",
        relations,
        performance.output_schema(),
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
