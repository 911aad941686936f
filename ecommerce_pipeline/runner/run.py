"""One run over a range of days, executed in this process and recorded in an instance."""

from datetime import date

import dagster as dg

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def medallion_job_def() -> dg.JobDefinition:
    """The resolved job; a module-level function, so ``dg.reconstructable`` can rebuild it."""
    from ecommerce_pipeline.definitions import defs

    return defs.resolve_job_def("medallion_daily")


def range_tags(start: date, end: date) -> dict[str, str]:
    return {RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()}


def run_range(
    job_fn, instance: dg.DagsterInstance, start: date, end: date, run_config: dict | None = None
) -> dg.JobExecutionResult:
    """Materialize [start, end] as one run, in this process, recorded in ``instance``.

    ``execute_in_process`` keeps every step's output in memory until the run ends (for
    ``output_value``); ``execute_job`` with the in-process executor hands each table to the IO
    manager and lets it go, so a run's memory is that of its largest step, not the sum of all.
    ``job_fn`` is a module-level function returning the job (``medallion_job_def`` or a variant).
    """
    config = {**(run_config or {}), "execution": {"config": {"in_process": {}}}}
    return dg.execute_job(dg.reconstructable(job_fn), instance, run_config=config, tags=range_tags(start, end))
