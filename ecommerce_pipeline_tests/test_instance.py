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
