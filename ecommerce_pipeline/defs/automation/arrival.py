"""The arrival sensor: notices new or re-uploaded landing files and runs every layer of their business day.

The landing store is a local folder (``ECOM_LANDING_DIR``) or an S3 prefix (``ECOM_LANDING_URI``); both are
listed by their store class into the same ``LandedObject`` list, and everything after the listing is one code
path.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime

import dagster as dg

from ecommerce_pipeline.defs.automation import OPT_IN_SENSOR
from ecommerce_pipeline.defs.partitions import daily_partitions
from ecommerce_pipeline.settings import landing_uri, load_settings
from ecommerce_pipeline.storage.aws import session
from ecommerce_pipeline.storage.landing import (
    LandedObject,
    LandingKeyError,
    LocalLandingStore,
    parse_landing_key,
    unused_reason,
)
from ecommerce_pipeline.storage.s3_landing import S3LandingStore


def list_landing() -> list[LandedObject]:
    """The landing store the pipeline reads, listed by the same store classes (and, on S3, the same retrying
    session) bronze uses."""
    settings, uri = load_settings(), landing_uri()
    if uri and uri.startswith("s3://"):
        return S3LandingStore(uri, session(settings.aws_region)).list_objects()
    return LocalLandingStore(settings.landing_dir).list_objects()


def run_key(day: str, objects: list[LandedObject]) -> str:
    """Derived from the files a run covers, so the same files never start a second run."""
    digest = hashlib.sha256("\n".join(sorted(f"{o.key}:{o.version}" for o in objects)).encode()).hexdigest()
    return f"arrival-{day}-{digest[:16]}"


def evaluate_arrivals(
    objects: list[LandedObject], cursor: str | None, log, now: datetime
) -> tuple[list[dg.RunRequest], str]:
    """Run requests for files that are new or changed since ``cursor``, one per business day, and the new cursor.

    The cursor maps every key seen to its version, so a restart resumes where it stopped and a re-upload
    (new version under the same key) is noticed. Keys that cannot be partitioned are logged once per version.
    """
    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    first, last = daily_partitions.get_first_partition_key(), daily_partitions.get_partition_keys(current_time=now)[-1]
    by_day: dict[str, list[LandedObject]] = defaultdict(list)
    for obj in objects:
        if seen.get(obj.key) == obj.version:
            continue
        try:
            _, day = parse_landing_key(obj.key)
        except LandingKeyError as exc:
            log.warning(f"landing file ignored: {exc}")
            continue
        reason = unused_reason(obj.key)
        if reason:  # an unsupported file type: its day still runs, and bronze keeps the file in quarantine
            log.warning(f"landing file ignored: {obj.key}: {reason}")
        if not first <= day.isoformat() <= last:
            log.warning(f"landing file ignored: {obj.key!r} is dated {day}, outside the partitions {first}..{last}")
            continue
        by_day[day.isoformat()].append(obj)
    requests = []
    for day, files in sorted(by_day.items()):
        log.info(f"{day}: {len(files)} new or changed file(s): {', '.join(f.key for f in files)}")
        requests.append(
            dg.RunRequest(
                run_key=run_key(day, files),
                partition_key=day,
                tags={"ecommerce/trigger": "arrival", "ecommerce/landing_files": str(len(files))},
            )
        )
    # Only keys still present are kept, so the cursor stays the size of the landing store.
    return requests, json.dumps({o.key: o.version for o in objects}, sort_keys=True)


@dg.sensor(
    name="landing_arrival_sensor",
    description=(
        "Watches the landing store (local folder or S3 prefix) and, for every business day with new or "
        "re-uploaded files, runs every layer of that day. A file for an earlier day re-runs that day."
    ),
    **OPT_IN_SENSOR,
)
def landing_arrival_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    requests, cursor = evaluate_arrivals(list_landing(), context.cursor, context.log, datetime.now(UTC))
    return dg.SensorResult(run_requests=requests, cursor=cursor)
