"""Faults: a writer killed mid-write, re-runs, and two runs of the same day at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.storage.lake import PART_FILE, LocalLake, partition_path

ROOT = Path(__file__).resolve().parents[1]
D1 = date(2025, 1, 1)
ROWS = 400_000


def version(n: int) -> pa.Table:
    return pa.table({"business_date": pa.array([D1] * ROWS, pa.date32()), "version": pa.array([n] * ROWS, pa.int64())})


def assert_complete_version(lake: LocalLake, allowed: set[int]) -> int:
    table = lake.read_partition("silver/t", D1)
    assert table.num_rows == ROWS
    versions = pc.unique(table.column("version")).to_pylist()
    assert len(versions) == 1 and versions[0] in allowed, versions
    return versions[0]


WRITER = textwrap.dedent(
    """
    import os, sys, time
    from datetime import date
    import pyarrow as pa
    from ecommerce_pipeline.storage.lake import LocalLake

    root, mode, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "pause_before_rename":
        real_fsync = os.fsync
        def fsync_then_hang(fd):
            real_fsync(fd)
            print("temp file written", flush=True)
            time.sleep(600)
        os.fsync = fsync_then_hang
    lake = LocalLake(root)
    n = 1
    print("started", flush=True)
    while True:
        n += 1
        lake.write_partition("silver/t", date(2025, 1, 1), pa.table({
            "business_date": pa.array([date(2025, 1, 1)] * rows, pa.date32()),
            "version": pa.array([n] * rows, pa.int64())}))
    """
)


def start_writer(root: Path, mode: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), mode, str(ROWS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "started"
    return proc


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_a_writer_killed_before_its_rename_leaves_the_previous_version_and_the_next_write_recovers(tmp_path):
    lake = LocalLake(tmp_path)
    lake.write_partition("silver/t", D1, version(1))
    proc = start_writer(tmp_path, "pause_before_rename")
    assert proc.stdout.readline().strip() == "temp file written"
    kill(proc)

    folder = tmp_path / partition_path("silver/t", D1)
    leftovers = [p for p in folder.iterdir() if p.name != PART_FILE]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".") and leftovers[0].stat().st_size > 0
    assert assert_complete_version(lake, {1}) == 1  # readers see the old partition, whole

    lake.write_partition("silver/t", D1, version(7))  # the next run
    assert [p.name for p in folder.iterdir()] == [PART_FILE]
    assert assert_complete_version(lake, {7}) == 7


def test_writers_killed_at_arbitrary_moments_never_leave_a_partial_partition(tmp_path):
    lake = LocalLake(tmp_path)
    lake.write_partition("silver/t", D1, version(1))
    seen = {1}
    for delay in (0.0, 0.05, 0.2, 0.5):
        proc = start_writer(tmp_path, "loop")
        # Each writer is killed only once it has replaced the partition (a loaded machine may take seconds to
        # write the first one), then after a delay that falls anywhere in its next writes.
        deadline = time.monotonic() + 60
        while assert_complete_version(lake, set(range(1, 10_000))) in seen and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        kill(proc)
        seen.add(assert_complete_version(lake, set(range(1, 10_000))))
    assert len(seen) > 1, "the writers never replaced the partition: the kills proved nothing"
    lake.write_partition("silver/t", D1, version(0))
    assert [p.name for p in (tmp_path / partition_path("silver/t", D1)).iterdir()] == [PART_FILE]


def test_a_live_writers_temp_file_is_left_alone(tmp_path):
    folder = tmp_path / partition_path("silver/t", D1)
    folder.mkdir(parents=True)
    live = folder / f".{PART_FILE}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    live.write_bytes(b"being written")
    LocalLake(tmp_path).write_partition("silver/t", D1, version(1))
    assert live.exists()


def _without_ingestion_time(raw_record: str | None) -> dict | None:
    record = None if raw_record is None else json.loads(raw_record)
    if isinstance(record, dict):
        record.pop("_ingested_at", None)
    return record


def lake_snapshot(lake_dir: Path) -> dict[str, list]:
    """Every table of the catalog, without the ingestion time (the one thing a re-run may change)."""
    with duckdb.connect(str(lake_dir / "catalog.duckdb"), read_only=True) as con:
        views = con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
        snapshot = {}
        for (view,) in views:
            columns = [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall() if r[0] != "_ingested_at"]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {view} ORDER BY ALL").fetchall()
            # DuckDB sums doubles in parallel, so the last bits of a money total can differ between runs.
            rows = [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in rows]
            if "raw_record" in columns:
                at = columns.index("raw_record")
                rows = [(*r[:at], _without_ingestion_time(r[at]), *r[at + 1 :]) for r in rows]
            snapshot[view] = rows
    return snapshot


def test_materializing_a_range_twice_gives_the_same_rows_and_gold_figures(project_env, capsys):
    assert (
        main(["generate", "--start", "2025-01-01", "--end", "2025-01-02", "--lines-per-day", "200", "--seed", "5"]) == 0
    )
    assert main(["run", "--start", "2025-01-01", "--end", "2025-01-02"]) == 0
    first = lake_snapshot(project_env / "lake")
    assert main(["run", "--start", "2025-01-01", "--end", "2025-01-02"]) == 0
    second = lake_snapshot(project_env / "lake")
    # one view per lake table: 14 Parquet (bronze, its quarantine, silver's quarantine, field issues) and 12 Iceberg
    # (silver incl. its audit tables, gold)
    assert len([v for v in first if not v.startswith("analytics.")]) == 26 and first == second
    assert first["gold.daily_sales_summary"] and first["quarantine.bronze_orders"]  # real figures, real rejects
    assert first["quarantine.field_issues"]  # the generated invalid e-mail


def test_two_runs_of_the_same_day_at_once_are_harmless(project_env, capsys):
    assert (
        main(["generate", "--start", "2025-01-01", "--end", "2025-01-01", "--lines-per-day", "200", "--seed", "8"]) == 0
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(project_env / "dagster_home"),
        "ECOM_LANDING_DIR": str(project_env / "landing"),
        "ECOM_LAKE_DIR": str(project_env / "lake"),
        "ECOM_CATALOG_PATH": str(project_env / "lake" / "catalog.duckdb"),
    }
    with dg.DagsterInstance.get():  # the instance exists before the runs, as it does in real use
        pass
    command = [sys.executable, "-m", "ecommerce_pipeline.cli", "run", "--start", "2025-01-01"]
    runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)]
    runs.append(
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    )
    outputs = [p.communicate(timeout=600)[0] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    together = lake_snapshot(project_env / "lake")

    assert main(["run", "--start", "2025-01-01"]) == 0  # the same day, alone
    assert lake_snapshot(project_env / "lake") == together
    lake_files = [p for p in (project_env / "lake").rglob("*") if p.is_file() and p.name.startswith(".")]
    assert not lake_files


def test_the_run_queue_never_starts_a_second_run_of_a_day_already_running(tmp_path):
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    # The project's run queue, with the instance's storage moved to a temporary folder.
    config = {"run_queue": config["run_queue"], "storage": {"sqlite": {"base_dir": str(tmp_path / "storage")}}}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="ecommerce_pipeline.definitions")),
            "__repository__",
        ),
        "medallion_daily",
    )
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:

        def add_run(status: DagsterRunStatus, day: str) -> str:
            run = DagsterRun(
                job_name="medallion_daily",
                run_id=str(uuid.uuid4()),
                status=status,
                remote_job_origin=origin,
                tags={"dagster/partition": day},
            )
            instance.add_run(run)
            return run.run_id

        add_run(DagsterRunStatus.STARTED, "2025-01-01")
        same_day = add_run(DagsterRunStatus.QUEUED, "2025-01-01")
        other_day = add_run(DagsterRunStatus.QUEUED, "2025-01-02")
        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
        chosen = daemon._get_runs_to_dequeue(instance, instance.get_concurrency_config(), fixed_iteration_time=None)
    # A queue without the partition limit would start the oldest queued run: the second run of 2025-01-01.
    assert [r.run_id for r in chosen] == [other_day]
    assert same_day not in [r.run_id for r in chosen]


class S3Storms:
    """Answers some S3 requests with throttling or a 5xx before moto sees them: every 7th request starts
    a storm of three failed attempts (SlowDown 503, InternalError 500, SlowDown 503)."""

    ANSWERS = (
        (503, "SlowDown", "Please reduce your request rate."),
        (500, "InternalError", "We encountered an internal error."),
    )

    def __init__(self, storms: int):
        self.requests = 0
        self.storm_left = 0
        self.storms_left = storms
        self.injected: list[int] = []

    def __call__(self, request, **kwargs):
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse

        self.requests += 1
        if self.storm_left == 0 and self.storms_left and self.requests % 7 == 0:
            self.storm_left, self.storms_left = 3, self.storms_left - 1
        if not self.storm_left:
            return None  # moto answers
        self.storm_left -= 1
        status, code, message = self.ANSWERS[self.storm_left % 2]
        self.injected.append(status)
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, MockRawResponse(body))


def test_s3_throttling_and_5xx_answers_are_retried_and_the_run_completes(tmp_path, monkeypatch):
    import botocore.handlers

    from ecommerce_pipeline.definitions import lake_assets
    from ecommerce_pipeline.defs.resources import aws_resources
    from ecommerce_pipeline_tests.conftest import mocked_aws, upload_store

    storms = S3Storms(storms=4)
    with mocked_aws(tmp_path) as env:
        upload_store(env)
        # Registered for S3 only, so it is asked before moto's catch-all handler on every new client.
        monkeypatch.setattr(
            botocore.handlers, "BUILTIN_HANDLERS", [*botocore.handlers.BUILTIN_HANDLERS, ("before-send.s3", storms)]
        )
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                lake_assets, resources=aws_resources(), partition_key="2025-01-01", instance=instance
            )
        assert result.success
        assert storms.injected.count(503) == 8 and storms.injected.count(500) == 4
        retried_steps = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert not retried_steps  # botocore absorbed every fault; no Dagster step had to be retried
        from ecommerce_pipeline.defs.resources import GlueTablesResource

        store = GlueTablesResource().store()
        sales = store.read("gold/daily_sales_summary")
        orders = store.read("silver/orders_validated")
        revenue = pc.sum(orders.filter(orders.column("is_revenue")).column("line_revenue")).as_py()
        assert pc.sum(sales.column("total_revenue")).as_py() == revenue > 0
