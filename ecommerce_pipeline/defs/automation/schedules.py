"""The nightly run: at 02:00 UTC, every layer of the business day that just ended."""

from datetime import timedelta

import dagster as dg

from ecommerce_pipeline.defs.jobs import medallion_job
from ecommerce_pipeline.defs.partitions import daily_partitions


@dg.schedule(
    name="medallion_daily_at_0200_utc",
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    job=medallion_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 02:00 UTC, materializes the previous day's partition of every layer in dependency order.",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext):
    # Not build_schedule_from_partitioned_job: the partitions end one day ahead (today's partition exists
    # for files arriving during the day), so "the last partition" at 02:00 would be today, not yesterday.
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    if day < daily_partitions.get_first_partition_key():
        return dg.SkipReason(f"{day} is before the first partition {daily_partitions.get_first_partition_key()}")
    return dg.RunRequest(run_key=f"nightly-{day}", partition_key=day, tags={"ecommerce/trigger": "schedule"})
