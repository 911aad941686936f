"""The Dagster entry point: ``ecommerce_pipeline.definitions:defs``."""

import dagster as dg

from ecommerce_pipeline.loading import long_lived_objects

# Everything below lives as long as the process: made with the cycle collector paused, then frozen.
with long_lived_objects():
    from ecommerce_pipeline.defs.automation.alerts import failed_check_alert, run_failure_alert
    from ecommerce_pipeline.defs.automation.arrival import landing_arrival_sensor
    from ecommerce_pipeline.defs.automation.schedules import nightly_schedule
    from ecommerce_pipeline.defs.bronze.assets import bronze_assets
    from ecommerce_pipeline.defs.bronze.landing_received import landing_checks
    from ecommerce_pipeline.defs.catalog.assets import duckdb_catalog
    from ecommerce_pipeline.defs.catalog.aws_assets import aws_catalog_assets
    from ecommerce_pipeline.defs.gold.athena_assets import gold_assets_for
    from ecommerce_pipeline.defs.jobs import medallion_job
    from ecommerce_pipeline.defs.resources import resources_for
    from ecommerce_pipeline.defs.silver.assets import silver_assets
    from ecommerce_pipeline.settings import load_settings

    lake_assets = [*bronze_assets, *silver_assets, *gold_assets_for(load_settings())]
    # The catalog follows the environment like the resources: DuckDB views locally, Glue + Athena on AWS.
    CATALOG_ASSETS_BY_ENV = {"local": [duckdb_catalog], "aws": aws_catalog_assets}

    defs = dg.Definitions(
        assets=[*lake_assets, *CATALOG_ASSETS_BY_ENV.get(load_settings().env, [duckdb_catalog])],
        asset_checks=landing_checks,
        jobs=[medallion_job],
        schedules=[nightly_schedule],
        sensors=[landing_arrival_sensor, run_failure_alert, failed_check_alert],
        resources=resources_for(),
    )
