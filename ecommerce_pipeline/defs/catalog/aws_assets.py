"""Catalog on AWS: each lake table registered in Glue, and the analysts' Athena views over them."""

from datetime import date

import dagster as dg

from ecommerce_pipeline.catalog.athena import estimated_cost_usd
from ecommerce_pipeline.catalog.glue import Registration, glue_table_name
from ecommerce_pipeline.catalog.query_library import athena_create_view, athena_view_name, query_names
from ecommerce_pipeline.defs.catalog.assets import LAKE_TABLES
from ecommerce_pipeline.defs.metadata import describe_partitions
from ecommerce_pipeline.defs.partitions import partition_days
from ecommerce_pipeline.defs.policies import DAILY_LAKE_STEP, OWNERS
from ecommerce_pipeline.defs.resources import AwsCatalogResource, TablesResource
from ecommerce_pipeline.storage.aws import wrangler
from ecommerce_pipeline.storage.io_manager import table_name

COMMON = dict(
    group_name="catalog",
    owners=OWNERS,
    **DAILY_LAKE_STEP,
)


def glue_key(table_key: dg.AssetKey) -> dg.AssetKey:
    return dg.AssetKey(["catalog", "glue", *table_key.path])


def register_in_glue(aws: AwsCatalogResource, table: str, days: set[date]) -> Registration:
    """Register ``table`` and its partitions of ``days`` found on S3 in Glue."""
    lake = aws.lake()
    files = {day: path for day, path in lake.partition_files(table) if day in days}
    if not files:
        raise FileNotFoundError(f"{table} has no partition on S3 for {min(days)}..{max(days)}")
    # Column types from the Parquet footers only, mapped to Athena types by awswrangler.
    columns, _ = wrangler().s3.read_parquet_metadata(
        list(files.values()), use_threads=False, boto3_session=lake.session
    )
    return aws.glue().register(
        table,
        lake.table_location(table),
        columns,
        {day: lake.partition_location(table, day) for day in files},
    )


def build_glue_asset(table_key: dg.AssetKey) -> dg.AssetsDefinition:
    table = table_name(table_key)

    @dg.asset(
        key=glue_key(table_key),
        deps=[table_key],
        kinds={"glue"},
        description=(
            f"`{glue_table_name(table)}` in the Glue Data Catalog: the `{table}` table's columns, its S3 location "
            "and one partition (year, month, day) per business day, so it can be queried from Athena."
        ),
        **COMMON,
    )
    def _register(context: dg.AssetExecutionContext, aws: AwsCatalogResource) -> dg.MaterializeResult:
        registration = register_in_glue(aws, table, set(partition_days(context)))
        # The run's registration, on its last partition (not copied onto every day it covered).
        describe_partitions(
            context,
            context.asset_key,
            {},
            {
                "glue_table": f"{aws.glue().database}.{registration.table}",
                "location": dg.MetadataValue.url(registration.location),
                "columns": len(registration.columns),
                "created": registration.created,
                "columns_added": dg.MetadataValue.json(registration.columns_added),
                "partitions_added": len(registration.partitions_added),
                "partitions_updated": len(registration.partitions_updated),
            },
        )
        return dg.MaterializeResult()

    return _register


# Bronze and quarantine are daily Parquet partitions registered here; silver and gold are Iceberg tables that
# pyiceberg's Glue catalog registers itself at every commit (table type ICEBERG), which Athena reads as such.
PARQUET_TABLES = [k for k in LAKE_TABLES if k.path[0] in ("bronze", "quarantine")]
ICEBERG_TABLES = [k for k in LAKE_TABLES if k.path[0] in ("silver", "gold")]
glue_assets = [build_glue_asset(key) for key in PARQUET_TABLES]
GOLD_TABLES = [table_name(k) for k in LAKE_TABLES if k.path[0] == "gold"]
ATHENA_KEY = dg.AssetKey(["catalog", "athena"])
ROW_COUNTS_CHECK = "gold_row_counts"


def row_counts_check(counts: dict[str, dict]) -> dg.AssetCheckResult:
    """Athena's count of each gold table against the rows of the Iceberg snapshot it counted: any difference
    fails (ERROR); an endpoint that answered no row at all (a real Athena always answers a count)
    could not verify (WARN)."""
    mismatched = {t: c for t, c in counts.items() if c["athena"] is not None and c["athena"] != c["lake"]}
    unanswered = sorted(t for t, c in counts.items() if c["athena"] is None)
    metadata: dict[str, object] = {
        "counts": dg.MetadataValue.json(counts),
        "tables_mismatched": len(mismatched),
        "tables_unverified": len(unanswered),
    }
    if mismatched:
        metadata["reason"] = "Athena and the lake disagree: " + "; ".join(
            f"{t} Athena {c['athena']} vs lake {c['lake']} rows" for t, c in sorted(mismatched.items())
        )
    elif unanswered:
        metadata["reason"] = (
            f"Athena returned no row for the count of {', '.join(unanswered)} (an endpoint that runs no SQL, "
            "such as moto): not verified"
        )
    severity = dg.AssetCheckSeverity.ERROR if mismatched else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        asset_key=ATHENA_KEY,
        check_name=ROW_COUNTS_CHECK,
        passed=not mismatched and not unanswered,
        severity=severity,
        metadata=metadata,
    )


@dg.asset(
    key=ATHENA_KEY,
    deps=[*(glue_key(k) for k in PARQUET_TABLES), *ICEBERG_TABLES],
    kinds={"athena"},
    check_specs=[
        dg.AssetCheckSpec(
            ROW_COUNTS_CHECK,
            asset=ATHENA_KEY,
            blocking=False,
            description="Athena's count(*) of each gold table equals the rows of its current Iceberg snapshot "
            "(the count is pinned to that snapshot).",
        )
    ],
    **COMMON,
)
def athena_registration(context: dg.AssetExecutionContext, aws: AwsCatalogResource, tables: TablesResource):
    """The analysts' Athena views (`analytics_rolling_revenue_30d`, `analytics_month_over_month_growth`,
    `analytics_rfm_segment_summary`, `analytics_top_products_by_category`, `analytics_funnel_by_device`,
    `analytics_data_quality_summary`) and a row count of each gold table, compared with the rows of the
    table's current Iceberg snapshot (check `gold_row_counts`), with the bytes it scanned and what it cost
    ($5 per TB, 10 MB minimum per query)."""
    athena, store = aws.athena(), tables.store()
    views = []
    for name in query_names():
        athena.run(athena_create_view(name))
        views.append(athena_view_name(name))
    verification, counts = {}, {}
    for table in GOLD_TABLES:
        # Athena counts the snapshot the lake's count comes from, so a commit in between (another day's run)
        # cannot make them differ.
        snapshot_id, lake_rows = store.snapshot_rows(table) or (None, 0)
        pinned = f" FOR VERSION AS OF {snapshot_id}" if snapshot_id is not None else ""
        run, rows = athena.query(f"SELECT count(*) AS row_count FROM {glue_table_name(table)}{pinned}")
        verification[glue_table_name(table)] = {
            "query_id": run.query_id,
            "bytes_scanned": run.bytes_scanned,
            "estimated_cost_usd": round(run.estimated_cost_usd, 8),
        }
        counts[glue_table_name(table)] = {
            "athena": int(rows[0]["row_count"]) if rows else None,
            "lake": lake_rows,
            "snapshot_id": snapshot_id,
        }
    scanned = sum(v["bytes_scanned"] for v in verification.values())
    describe_partitions(
        context,
        ATHENA_KEY,
        {},
        {
            "database": athena.database,
            "workgroup": athena.workgroup,
            "views": dg.MetadataValue.json(views),
            "verification_queries": dg.MetadataValue.json(verification),
            "bytes_scanned": scanned,
            "estimated_cost_usd": round(sum(estimated_cost_usd(v["bytes_scanned"]) for v in verification.values()), 8),
        },
    )
    yield dg.MaterializeResult()
    yield row_counts_check(counts)


aws_catalog_assets = [*glue_assets, athena_registration]
