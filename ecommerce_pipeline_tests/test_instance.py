"""The project's dagster.yaml: SQLite under the project folder, a bounded run queue, run retries."""

import shutil
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]


def test_dagster_yaml_queues_runs_and_retries_dead_runs(tmp_path, monkeypatch):
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.chdir(tmp_path)  # the storage paths are relative to the project folder
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 2
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 3
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert "SqliteRunStorage" in type(instance.run_storage).__name__
    assert (tmp_path / ".dagster" / "storage").is_dir()


def test_the_repository_instance_and_the_one_the_cli_writes_have_the_same_storage(tmp_path):
    import yaml

    from ecommerce_pipeline.runner.local_instance import local_storage_config, write_local_instance

    repository = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert {k: repository[k] for k in local_storage_config("x")} == local_storage_config(".dagster/storage")
    write_local_instance(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.event_log_storage).__name__ == "KeptEngineSqliteEventLogStorage"
        # Dagster's own layout for a home without a dagster.yaml: an existing home keeps its history.
        assert instance.event_log_storage._base_dir == str(tmp_path / "history" / "runs")


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2025-01-01"))
def _counted(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"partitions": len(context.partition_keys)})


@dg.asset_check(asset=_counted)
def _counted_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_the_event_log_that_keeps_engines_stores_what_dagsters_own_reads(tmp_path):
    """Runs recorded through the project's event log, read back by Dagster's own SQLite event log over the
    same folder (what another process, the UI, does): every event, materialization and check is there."""
    from dagster._core.storage.event_log import SqliteEventLogStorage

    from ecommerce_pipeline.runner import event_log
    from ecommerce_pipeline.runner.local_instance import write_local_instance

    write_local_instance(tmp_path)
    runs = event_log.KEPT_ENGINES + 4  # more databases than engines kept: the oldest are let go
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        results = [
            dg.materialize(
                [_counted, _counted_check],
                instance=instance,
                partition_key=f"2025-01-{day:02d}",
            )
            for day in range(1, runs + 1)
        ]
        assert all(r.success for r in results)
        written = {r.run_id: len(instance.all_logs(r.run_id)) for r in results}
        assert len(instance.event_log_storage._engines) <= event_log.KEPT_ENGINES
    plain = SqliteEventLogStorage(str(tmp_path / "history" / "runs"))
    try:
        assert {run_id: len(plain.get_logs_for_run(run_id)) for run_id in written} == written
        assert min(written.values()) > 5
        materialized = plain.fetch_materializations(dg.AssetKey("_counted"), limit=100).records
        assert sorted(m.partition_key for m in materialized) == [f"2025-01-{d:02d}" for d in range(1, runs + 1)]
        check = plain.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("_counted"), "_counted_check")]
        )
        assert check and next(iter(check.values())).status.value == "SUCCEEDED"
    finally:
        plain.dispose()
