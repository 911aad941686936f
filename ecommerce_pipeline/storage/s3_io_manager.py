"""The IO manager of the AWS environment: the shared ``LakeIOManager`` over an ``S3Lake``."""

from __future__ import annotations

from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.aws import session
from ecommerce_pipeline.storage.io_manager import LakeIOManager
from ecommerce_pipeline.storage.lake import Lake
from ecommerce_pipeline.storage.s3_lake import S3Lake, layer_uris


class S3ParquetIOManager(LakeIOManager):
    """Snappy Parquet on S3, one bucket (or prefix) per layer, in the Hive layout (year=/month=/day=)."""

    bronze_uri: str | None = None
    silver_uri: str | None = None
    gold_uri: str | None = None
    aws_region: str | None = None

    def lake(self) -> Lake:
        settings = load_settings()
        layers = layer_uris(
            self.bronze_uri or settings.bronze_uri,
            self.silver_uri or settings.silver_uri,
            self.gold_uri or settings.gold_uri,
        )
        return S3Lake(layers, session(self.aws_region or settings.aws_region))
