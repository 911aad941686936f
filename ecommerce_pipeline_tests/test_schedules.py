"""The nightly schedule, evaluated for real ticks."""

from datetime import UTC, datetime

import dagster as dg

from ecommerce_pipeline.definitions import defs
from ecommerce_pipeline.defs.automation.schedules import nightly_schedule


def evaluate(tick: datetime):
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
        )
        return nightly_schedule.evaluate_tick(context)


def test_the_0200_tick_runs_exactly_the_previous_day_of_every_layer():
    result = evaluate(datetime(2025, 3, 15, 2, 0, tzinfo=UTC))
    (request,) = result.run_requests
    assert request.partition_key == "2025-03-14"
    assert request.run_key == "nightly-2025-03-14"
    assert nightly_schedule.cron_schedule == "0 2 * * *" and nightly_schedule.execution_timezone == "UTC"
    job = defs.resolve_job_def(nightly_schedule.job_name)
    assert {k.path[0] for k in job.asset_layer.executable_asset_keys} == {
        "bronze",
        "silver",
        "gold",
        "quarantine",
        "catalog",
    }


def test_month_and_year_boundaries():
    assert evaluate(datetime(2026, 1, 1, 2, 0, tzinfo=UTC)).run_requests[0].partition_key == "2025-12-31"
    assert evaluate(datetime(2025, 3, 1, 2, 0, tzinfo=UTC)).run_requests[0].partition_key == "2025-02-28"


def test_a_tick_before_the_first_partition_is_skipped():
    result = evaluate(datetime(2025, 1, 1, 2, 0, tzinfo=UTC))
    assert not result.run_requests and "before the first partition" in result.skip_message
