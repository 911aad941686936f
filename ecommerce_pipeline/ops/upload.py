"""``ecommerce-pipeline upload``: a landing folder's files for a range of days, to the landing bucket.

Files keep their relative key, ``<entity>/<YYYY-MM-DD>/<file>``, under ``ECOM_LANDING_URI``; hidden
files (``.``/``_`` prefix) stay behind, as the pipeline would skip them anyway. An upload of a file that is
already there replaces it, which the arrival sensor sees as a re-upload (a new ETag) only if the bytes changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import boto3

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.storage.aws import join_uri, split_uri
from ecommerce_pipeline.storage.landing import is_hidden


@dataclass
class UploadSummary:
    files: int = 0
    bytes: int = 0
    days_without_files: list[date] = field(default_factory=list)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def landing_files(root: Path, start: date, end: date) -> dict[date, list[tuple[Path, str]]]:
    """Each day's files under ``root`` as (path, key relative to the landing root), every entity."""
    found: dict[date, list[tuple[Path, str]]] = {}
    for day in days_between(start, end):
        found[day] = [
            (path, path.relative_to(root).as_posix())
            for entity in ENTITIES
            for path in sorted((root / entity / day.isoformat()).rglob("*"))
            if path.is_file() and not is_hidden(path.name)
        ]
    return found


def upload_landing(root: Path, uri: str, start: date, end: date, session: boto3.Session) -> UploadSummary:
    """Upload the landing files of ``start``..``end`` from ``root`` to ``uri``."""
    bucket, _ = split_uri(uri)
    s3 = session.client("s3")
    summary = UploadSummary()
    for day, files in landing_files(Path(root), start, end).items():
        if not files:
            summary.days_without_files.append(day)
        for path, key in files:
            s3.upload_file(str(path), bucket, split_uri(join_uri(uri, key))[1])
            summary.files += 1
            summary.bytes += path.stat().st_size
    return summary
