"""The landing store on S3: raw export files at ``<landing uri>/<entity>/<YYYY-MM-DD>/<file name>``."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from ecommerce_pipeline.storage.aws import session as aws_session
from ecommerce_pipeline.storage.aws import split_uri
from ecommerce_pipeline.storage.landing import LandedObject, LandingFile, LandingStore, is_hidden_key

if TYPE_CHECKING:
    import boto3


class S3LandingStore(LandingStore):
    def __init__(self, uri: str, boto3_session: boto3.Session | None = None):
        self.uri = uri.rstrip("/")
        self.bucket, self.prefix = split_uri(uri)
        self.s3 = (boto3_session or aws_session()).client("s3")

    def _key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def list_files(self, entity: str, day: date) -> list[LandingFile]:
        folder = self._key(f"{entity}/{day.isoformat()}/")
        files = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith("/") or is_hidden_key(key[len(folder) :]):
                    continue
                relative = key[len(self.prefix) + 1 :] if self.prefix else key
                # The ETag changes whenever the object is re-uploaded with other bytes.
                files.append(LandingFile(relative, entity, day, obj["Size"], obj["ETag"].strip('"')))
        return sorted(files, key=lambda f: f.key)

    def _children(self, prefix: str) -> tuple[list[str], list[str]]:
        start = self._key("")
        files, folders = [], []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix), Delimiter="/"
        )
        for page in pages:
            files += [o["Key"][len(start) :] for o in page.get("Contents", []) if not o["Key"].endswith("/")]
            folders += [p["Prefix"][len(start) :] for p in page.get("CommonPrefixes", [])]
        return files, folders

    def read_bytes(self, file: LandingFile) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=self._key(file.key))["Body"].read()

    def location(self) -> str:
        return self.uri

    def list_objects(self) -> list[LandedObject]:
        """The whole prefix, listed on every call rather than only objects newer than a timestamp: a file
        re-uploaded under the same key must be noticed by its new ETag, and LastModified has one-second
        resolution, so a "since" filter could skip a file written in the same second as the last one seen."""
        start = self._key("")
        objects = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            for obj in page.get("Contents", []):
                relative = obj["Key"][len(start) :]
                if relative and not relative.endswith("/") and not is_hidden_key(relative):
                    etag = obj["ETag"].strip('"')
                    objects.append(LandedObject(relative, f"{etag}:{obj['LastModified'].isoformat()}"))
        return sorted(objects, key=lambda o: o.key)
