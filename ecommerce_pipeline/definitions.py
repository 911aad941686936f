"""The Dagster entry point: ``ecommerce_pipeline.definitions:defs``."""

import dagster as dg

from ecommerce_pipeline.defs.bronze.assets import bronze_assets
from ecommerce_pipeline.defs.catalog.assets import duckdb_catalog
from ecommerce_pipeline.defs.catalog.aws_assets import aws_catalog_assets
from ecommerce_pipeline.defs.gold.assets import gold_assets
from ecommerce_pipeline.defs.jobs import medallion_job
from ecommerce_pipeline.defs.resources import resources_for
from ecommerce_pipeline.defs.silver.assets import silver_assets
from ecommerce_pipeline.settings import load_settings

lake_assets = [*bronze_assets, *silver_assets, *gold_assets]
# The catalog follows the environment like the resources: DuckDB views locally, Glue + Athena on AWS.
CATALOG_ASSETS_BY_ENV = {"local": [duckdb_catalog], "aws": aws_catalog_assets}

defs = dg.Definitions(
    assets=[*lake_assets, *CATALOG_ASSETS_BY_ENV.get(load_settings().env, [duckdb_catalog])],
    jobs=[medallion_job],
    resources=resources_for(),
)
