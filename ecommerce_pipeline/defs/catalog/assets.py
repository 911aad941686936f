"""Catalog: registers every lake table as a view so analysts can query it with SQL."""

from datetime import date

import dagster as dg

from ecommerce_pipeline.defs import restatements
from ecommerce_pipeline.defs.bronze.assets import bronze_assets
from ecommerce_pipeline.defs.gold.assets import gold_assets
from ecommerce_pipeline.defs.metadata import describe_partitions
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, OWNERS
from ecommerce_pipeline.defs.resources import CatalogResource
from ecommerce_pipeline.defs.silver.assets import DIMENSION_CHANGES, LINE_VERSIONS, ORDER_VERSIONS, silver_assets
from ecommerce_pipeline.storage.io_manager import table_name

LAKE_TABLES = [key for assets in (bronze_assets, silver_assets, gold_assets) for a in assets for key in a.keys]
# Silver tables written alongside the assets' own: every order version, the dimension changes, the restatements.
AUDIT_TABLES = [ORDER_VERSIONS, LINE_VERSIONS, DIMENSION_CHANGES, restatements.LOG]


@dg.asset(
    key=["catalog", "duckdb"],
    deps=LAKE_TABLES,
    group_name="catalog",
    kinds={"duckdb"},
    owners=OWNERS,
    **DAILY_LAKE_STEP,
)
def duckdb_catalog(context: dg.AssetExecutionContext, catalog: CatalogResource) -> dg.MaterializeResult:
    """Views over every bronze, silver, gold and quarantine table in the local DuckDB catalog
    (`bronze.orders`, `gold.daily_sales_summary`, `quarantine.bronze_orders`, ...), queryable with
    `ecommerce-pipeline sql` or the `duckdb` CLI, and the query library's views (`analytics.rolling_revenue_30d`,
    `analytics.month_over_month_growth`, `analytics.rfm_segment_summary`, `analytics.top_products_by_category`,
    `analytics.funnel_by_device`, `analytics.data_quality_summary`)."""
    registry = catalog.catalog()
    days = [date.fromisoformat(k) for k in context.partition_keys]
    views = registry.register([table_name(k) for k in LAKE_TABLES] + AUDIT_TABLES, days)
    query_views, skipped = registry.register_query_library()
    if skipped:
        context.log.warning(f"query library views not created yet: {skipped}")
    counts = registry.rows_of_days(sorted(views), days)
    run = {
        "catalog_path": dg.MetadataValue.path(str(registry.path)),
        "views": len(views),
        "rows_in_partition": dg.MetadataValue.json(counts),
        "query_library_views": dg.MetadataValue.json(query_views),
    }
    describe_partitions(context, context.asset_key, {}, run)
    return dg.MaterializeResult()
