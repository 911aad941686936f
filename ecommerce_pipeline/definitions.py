"""The Dagster entry point: ``ecommerce_pipeline.definitions:defs``."""

import dagster as dg

from ecommerce_pipeline.defs.bronze.assets import bronze_assets
from ecommerce_pipeline.defs.catalog.assets import duckdb_catalog
from ecommerce_pipeline.defs.gold.assets import gold_assets
from ecommerce_pipeline.defs.jobs import medallion_job
from ecommerce_pipeline.defs.resources import resources_for
from ecommerce_pipeline.defs.silver.assets import silver_assets

lake_assets = [*bronze_assets, *silver_assets, *gold_assets]

defs = dg.Definitions(
    assets=[*lake_assets, duckdb_catalog],
    jobs=[medallion_job],
    resources=resources_for(),
)
