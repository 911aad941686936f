"""The project's dagster.yaml: SQLite under the project folder, a bounded run queue, run retries."""

import shutil
from datetime import date
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


def test_the_cli_gives_a_new_dagster_home_the_project_instance_and_leaves_an_existing_one_alone(tmp_path, monkeypatch):
    """A DAGSTER_HOME that is set but empty (or not there yet) gets the project's dagster.yaml, so the CLI's runs
    store their events through the project's event log; a home that already holds an instance keeps Dagster's
    defaults, and a home with its own dagster.yaml keeps it."""
    from ecommerce_pipeline.cli import _ensure_dagster_home

    def instance_of(home: Path) -> str:
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        assert _ensure_dagster_home() == home.resolve()
        with dg.DagsterInstance.get() as instance:
            return type(instance.event_log_storage).__name__

    assert instance_of(tmp_path / "new") == "KeptEngineSqliteEventLogStorage"
    (tmp_path / "empty").mkdir()
    assert instance_of(tmp_path / "empty") == "KeptEngineSqliteEventLogStorage"
    (tmp_path / "used" / "history").mkdir(parents=True)  # Dagster's defaults have stored runs here
    assert instance_of(tmp_path / "used") == "SqliteEventLogStorage"
    assert not (tmp_path / "used" / "dagster.yaml").exists()
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert instance_of(tmp_path / "own") == "SqliteEventLogStorage"
    assert (tmp_path / "own" / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


@dg.asset(
    partitions_def=dg.DailyPartitionsDefinition(start_date="2025-01-01"),
    check_specs=[dg.AssetCheckSpec("each_day", asset="_counted")],
)
def _counted(context: dg.AssetExecutionContext):
    """As the pipeline's steps describe and check each partition: its own figures, its own check evaluation
    (the 7th and 14th fail), and what describes the whole run on the last partition."""
    from ecommerce_pipeline.defs.metadata import check_partitions, describe_partitions

    days = [date.fromisoformat(k) for k in context.partition_keys]
    describe_partitions(context, context.asset_key, {d: {"day": d.day} for d in days}, {"partitions": len(days)})
    check_partitions(
        context,
        {
            d: dg.AssetCheckResult(
                asset_key=context.asset_key, check_name="each_day", passed=d.day % 7 != 0, metadata={"day": d.day}
            )
            for d in days
        },
    )
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="each_day", passed=True)


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


def _backfill_records(instance: dg.DagsterInstance, run_id: str) -> dict:
    """What the UI reads of a single-run backfill of ``_counted``: each partition's materialization (with its
    metadata), the planned partitions, the asset's record and its check."""
    key = dg.AssetKey("_counted")
    materialized = instance.fetch_materializations(key, limit=1000).records
    planned = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    (record,) = instance.get_asset_records([key])
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(key, "_counted_check")]
    )
    each_day = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(key, "each_day"), limit=1000
    )
    return {
        "materialized": sorted(
            (m.partition_key, {k: v.value for k, v in m.asset_materialization.metadata.items()}) for m in materialized
        ),
        "each_day": sorted(
            (e.event.dagster_event.event_specific_data.partition, e.status.value)
            for e in each_day
            if e.event.dagster_event.event_specific_data.partition
        ),
        "planned": sorted(p.dagster_event.partition for p in planned),
        "last": record.asset_entry.last_materialization_record.partition_key,
        "materialized_partitions": sorted(instance.get_materialized_partitions(key)),
        "check": next(iter(check.values())).status.value,
    }


def _backfill(home: Path, monkeypatch, *, fail_batch_at: int | None = None) -> dict:
    from ecommerce_pipeline.runner import event_log
    from ecommerce_pipeline.runner.local_instance import write_local_instance

    home.mkdir()
    write_local_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        if fail_batch_at is not None:  # the first batch fails part-way: Dagster then stores its events one by one
            stored, real = [], event_log.KeptEngineSqliteEventLogStorage.store_event

            def store_event(self, event):
                if self._batch is not None and len(stored) == fail_batch_at:
                    stored.append(None)
                    raise OSError("disk full")
                stored.append(event)
                return real(self, event)

            monkeypatch.setattr(event_log.KeptEngineSqliteEventLogStorage, "store_event", store_event)
        batches, real_batch = [], event_log.KeptEngineSqliteEventLogStorage.store_event_batch

        def store_event_batch(self, events):
            batches.append(len(events))
            return real_batch(self, events)

        monkeypatch.setattr(event_log.KeptEngineSqliteEventLogStorage, "store_event_batch", store_event_batch)
        transactions, real_transaction = [], event_log.KeptEngineSqliteEventLogStorage.one_transaction

        def one_transaction(self):
            transactions.append(self._batch is None)  # True: a transaction of its own, not part of a batch's
            return real_transaction(self)

        monkeypatch.setattr(event_log.KeptEngineSqliteEventLogStorage, "one_transaction", one_transaction)
        result = dg.materialize(
            [_counted, _counted_check],
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2025-01-01",
                "dagster/asset_partition_range_end": "2025-01-20",
            },
        )
        assert result.success
        assert type(storage).__name__ == "KeptEngineSqliteEventLogStorage"
        assert max(batches) >= 20  # the planned events, the materializations: a batch each
        assert sum(transactions) > len(batches)  # and the checks of every day: one transaction
        if fail_batch_at is not None:
            assert None in stored
        return _backfill_records(instance, result.run_id)


def test_events_stored_in_batches_read_back_as_dagster_stores_them_one_by_one(tmp_path, monkeypatch):
    """A single-run backfill's planned events and per-partition materializations go to the event log in
    batches, one transaction per database; what the UI reads back is what Dagster's own event log, storing them
    one by one, gives. A batch that fails leaves nothing of itself, and its events are stored one by one."""
    batched = _backfill(tmp_path / "batched", monkeypatch)
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
    plain_home = tmp_path / "plain"
    plain_home.mkdir()
    (plain_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(plain_home)) as instance:
        tags = {"dagster/asset_partition_range_start": "2025-01-01", "dagster/asset_partition_range_end": "2025-01-20"}
        result = dg.materialize([_counted, _counted_check], instance=instance, tags=tags)
        assert result.success
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        plain = _backfill_records(instance, result.run_id)
    assert batched == plain
    assert len(batched["materialized"]) == len(batched["planned"]) == len(batched["each_day"]) == 20
    # Each day its own figure; the run's only on its last day; days 7 and 14 fail their own check.
    assert [m for _, m in batched["materialized"]][:2] == [{"day": 1}, {"day": 2}]
    assert batched["materialized"][-1] == ("2025-01-20", {"day": 20, "partitions": 20})
    assert [p for p, status in batched["each_day"] if status == "FAILED"] == ["2025-01-07", "2025-01-14"]
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "500")
    assert _backfill(tmp_path / "failed", monkeypatch, fail_batch_at=3) == plain


def _rows(folder: Path) -> dict:
    """Every row of every table of every database an event log wrote in the folder, without the times the
    database sets itself when a row is made or a migration done."""
    import sqlite3

    rows = {}
    for db in sorted(folder.glob("*.db")):
        with sqlite3.connect(db) as con:
            tables = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            for (table,) in tables.fetchall():
                info = con.execute(f'PRAGMA table_info("{table}")').fetchall()
                columns = [
                    f'"{c[1]}"'
                    for c in info
                    if c[1] not in ("create_timestamp", "update_timestamp", "migration_completed")
                ]
                found = con.execute(f'SELECT {", ".join(columns)} FROM "{table}"').fetchall()
                rows[db.name, table] = sorted(found, key=repr)
        con.close()
    return rows


def test_the_project_event_log_writes_the_rows_dagsters_own_writes(tmp_path):
    """The same events (a five-day single-run backfill with a check per day, then a re-run of one day) stored
    through the project's event log, partly as a batch, and through Dagster's own SQLite event log: every table
    of every database holds the same rows, the asset's last materialization and each check's event included."""
    from dagster._core.storage.event_log import SqliteEventLogStorage
    from dagster._core.storage.event_log.base import EventLogRecord
    from dagster_shared.serdes import serialize_value

    from ecommerce_pipeline.runner import event_log, event_writes
    from ecommerce_pipeline.runner.local_instance import write_local_instance

    home = tmp_path / "home"
    home.mkdir()
    write_local_instance(home)
    range_tags = {
        "dagster/asset_partition_range_start": "2025-01-01",
        "dagster/asset_partition_range_end": "2025-01-05",
    }
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = [
            dg.materialize([_counted, _counted_check], instance=instance, tags=range_tags),
            dg.materialize([_counted, _counted_check], instance=instance, partition_key="2025-01-07"),
        ]
        assert all(r.success for r in runs)
        events = [e for r in runs for e in instance.all_logs(r.run_id)]
    plain = SqliteEventLogStorage(str(tmp_path / "plain"))
    ours = event_log.KeptEngineSqliteEventLogStorage(str(tmp_path / "ours"))
    try:
        for entry in events:
            plain.store_event(entry)
        half = len(events) // 2
        ours.store_event_batch(events[:half])
        for entry in events[half:]:
            ours.store_event(entry)
    finally:
        plain.dispose()
        ours.dispose()
    expected, written = _rows(tmp_path / "plain"), _rows(tmp_path / "ours")
    assert written == expected
    # The last materialization's record is made from the event's own text, and is Dagster's text for it.
    materialization = next(e for e in events if e.dagster_event and e.dagster_event.is_step_materialization)
    assert event_writes._record_text(serialize_value(materialization), 7) == serialize_value(
        EventLogRecord(storage_id=7, event_log_entry=materialization)
    )
    index = {table: found for (db, table), found in written.items() if db == "index.db"}
    (asset,) = index["asset_keys"]
    assert runs[1].run_id in asset and any(runs[1].run_id in str(value) for value in asset if value != runs[1].run_id)
    # Both checks planned for each day of both runs; each day's own check evaluated (day 7 fails it).
    checks = index["asset_check_executions"]
    assert len(checks) >= 2 * (5 + 1) and sum("FAILED" in row for row in checks) == 1
    assert sum("SUCCEEDED" in row for row in checks) >= 5 and any("PLANNED" in row for row in checks)
