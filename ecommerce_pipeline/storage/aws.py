"""boto3 sessions and s3:// addresses shared by the S3 lake, the S3 landing store, Glue and Athena.

Credentials come only from boto3's default chain (environment, profile, instance or task role), and
``AWS_ENDPOINT_URL`` is honoured by every client boto3 (and so awswrangler) creates, and the lake's pyarrow
S3 filesystem is pointed at the endpoint boto3's S3 client resolves, which is how the same code runs against a
moto server, LocalStack or MinIO.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

# Throttling (SlowDown, 503) and 5xx answers are retried with exponential backoff and jitter, up to ten
# attempts per request, by every client: boto3's own (Glue, Athena, landing), awswrangler's (the lake's writes)
# and pyarrow's (the lake's reads, ``s3_lake.s3_filesystem``).
MAX_ATTEMPTS = 10


@cache
def retry_config() -> Config:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})


def session(region: str | None = None) -> boto3.Session:
    import boto3  # imported on first use: boto3 and awswrangler are 0.4 s of a process start the local path skips

    aws = boto3.Session(region_name=region) if region else boto3.Session()
    aws._session.set_default_client_config(retry_config())
    return aws


def wrangler():
    """awswrangler, imported on first use, with every client it makes retrying as boto3's do (it passes its
    own client config, which would replace the session's retry settings)."""
    import awswrangler as wr

    wr.config.botocore_config = retry_config()
    return wr


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix") with no trailing slash."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// address")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket")
    return bucket, prefix.strip("/")


def join_uri(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts if p)])
