"""``landing_received``: did anything land at all for the business day?

A day whose landing folder (or S3 prefix) holds no file for any entity still materializes every table,
each with 0 rows, and every conservation check passes (0 = 0). That is the shape of a missed export or a
wrong ``ECOM_LANDING_URI``, so this check says so. It is non-blocking: the empty partitions are still
written (re-running the day once the files arrive replaces them), but the check fails, the UI shows it, and
``ecommerce-pipeline run`` prints it and exits non-zero. One entity missing on a day is normal (customers
and products files only carry changes), so only a day with no file at all fails.

The check lists the landing store itself rather than reading what bronze recorded, so it stays true
whatever bronze does with the files.
"""

import dagster as dg

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.defs.bronze.assets import bronze_key
from ecommerce_pipeline.defs.metadata import first_few
from ecommerce_pipeline.defs.partitions import partition_days
from ecommerce_pipeline.defs.resources import LandingResource

CHECK_NAME = "landing_received"


@dg.asset_check(
    asset=bronze_key("orders"),
    name=CHECK_NAME,
    blocking=False,
    description=(
        "The business day received landing files: fails when no file at all (of any entity) landed for a "
        "day of the run, which would otherwise give a green run with every table at 0 rows."
    ),
)
def landing_received(context: dg.AssetCheckExecutionContext, landing: LandingResource) -> dg.AssetCheckResult:
    store = landing.store()
    days = partition_days(context.op_execution_context)
    files = {day: {entity: len(store.list_files(entity, day)) for entity in ENTITIES} for day in days}
    empty = [day.isoformat() for day in days if not any(files[day].values())]
    metadata: dict[str, object] = {
        "landing": store.location(),
        "days": len(days),
        "days_without_files": len(empty),
        "files_by_entity": dg.MetadataValue.json(
            {entity: sum(files[day][entity] for day in days) for entity in ENTITIES}
        ),
    }
    # Each day of the run also gets its own evaluation, so a backfill's empty day fails on that day in the UI.
    for day in days:
        context.op_execution_context.log_event(
            dg.AssetCheckEvaluation(
                asset_key=bronze_key("orders"),
                check_name=CHECK_NAME,
                passed=any(files[day].values()),
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"landing": store.location(), "files_by_entity": dg.MetadataValue.json(files[day])},
                partition=day.isoformat(),
            )
        )
    if empty:
        metadata["reason"] = f"no landing files at all for {first_few(empty)} under {store.location()}"
        context.log.error(metadata["reason"])
    return dg.AssetCheckResult(passed=not empty, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)


landing_checks = [landing_received]
