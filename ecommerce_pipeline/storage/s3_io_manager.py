"""The IO manager of the AWS environment: the shared ``LakeIOManager`` over an ``S3Lake``, and ``S3Locations``,
the one configuration of the lake's S3 locations that it and the AWS resources share."""

from __future__ import annotations

import dagster as dg

from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.aws import session
from ecommerce_pipeline.storage.io_manager import LakeIOManager
from ecommerce_pipeline.storage.lake import Lake
from ecommerce_pipeline.storage.s3_lake import S3Lake, layer_uris


class S3Locations(dg.Config):
    """Where the lake lives on S3: one s3:// prefix per layer (quarantine inside bronze) and the region.

    Configured once (``aws_resources``) and given to every resource that reads or writes the lake; an unset
    value is taken from the settings (ECOM_*_URI, AWS_REGION) when it is used. A config, not a resource: a
    resource nested in another triggers Dagster's ``InitResourceContext.dagster_run`` deprecation warning."""

    bronze_uri: str | None = None
    silver_uri: str | None = None
    gold_uri: str | None = None
    aws_region: str | None = None

    def layers(self) -> dict[str, str | None]:
        settings = load_settings()
        return layer_uris(
            self.bronze_uri or settings.bronze_uri,
            self.silver_uri or settings.silver_uri,
            self.gold_uri or settings.gold_uri,
        )

    def region(self) -> str | None:
        return self.aws_region or load_settings().aws_region

    def lake(self) -> S3Lake:
        return S3Lake(self.layers(), session(self.region()))


class S3ParquetIOManager(LakeIOManager):
    """Snappy Parquet on S3, one bucket (or prefix) per layer, in the Hive layout (year=/month=/day=)."""

    locations: S3Locations = S3Locations()

    def lake(self) -> Lake:
        return self.locations.lake()
