"""The IO manager of the AWS environment: the shared ``LakeIOManager`` over an ``S3Lake``."""

from __future__ import annotations

from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.aws import session
from ecommerce_pipeline.storage.io_manager import LakeIOManager
from ecommerce_pipeline.storage.lake import Lake
from ecommerce_pipeline.storage.s3_lake import S3Lake, layer_uris


def configured_s3_lake(
    bronze_uri: str | None, silver_uri: str | None, gold_uri: str | None, aws_region: str | None
) -> S3Lake:
    """The S3 lake at the given locations, each unset one taken from the settings (ECOM_*_URI, AWS_REGION)."""
    settings = load_settings()
    layers = layer_uris(
        bronze_uri or settings.bronze_uri, silver_uri or settings.silver_uri, gold_uri or settings.gold_uri
    )
    return S3Lake(layers, session(aws_region or settings.aws_region))


class S3ParquetIOManager(LakeIOManager):
    """Snappy Parquet on S3, one bucket (or prefix) per layer, in the Hive layout (year=/month=/day=)."""

    bronze_uri: str | None = None
    silver_uri: str | None = None
    gold_uri: str | None = None
    aws_region: str | None = None

    def lake(self) -> Lake:
        return configured_s3_lake(self.bronze_uri, self.silver_uri, self.gold_uri, self.aws_region)
