"""deploy/aws/dagster.yaml, the instance of the deployment, against a real PostgreSQL and moto.

The fixture starts a throw-away PostgreSQL cluster (Debian's ``postgresql`` package: ``initdb`` and ``pg_ctl``)
on 127.0.0.1 at a free port. With the storage section of deploy/aws/dagster.yaml (compute logs local and the
default run launcher instead of S3 and ECS, which need AWS), the definitions run a partition, and the sensors'
cursor and run history survive a restart of a real ``dagster-daemon`` process. The whole file, EcsRunLauncher and
S3 compute logs included, is loaded against moto's ECS and S3.

Without the server binaries the PostgreSQL tests skip locally; CI installs the package (.ci/postgres.sh) and sets
CI_REQUIRE_POSTGRES=1, which turns that skip into a failure.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml
from dagster._core.scheduler.instigation import TickStatus

from ecommerce_pipeline.tooling.generator import generate_store

ROOT = Path(__file__).resolve().parents[1]
DEPLOY_YAML = ROOT / "deploy" / "aws" / "dagster.yaml"
ARRIVAL = "landing_arrival_sensor"


def deploy_config() -> dict:
    return yaml.safe_load(DEPLOY_YAML.read_text())


# --- a real PostgreSQL --------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    candidates = [*sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True), Path("/usr/local/bin")]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Postgres:
    """A PostgreSQL cluster in a temp folder, password-authenticated over TCP like RDS."""

    user, password = "dagster", "test-password"

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="ecom-pg-"))
        # initdb refuses to run as root; the package's "postgres" user runs the server then.
        self.as_user = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.folder / "data"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        pwfile = self.folder / "pwfile"
        pwfile.write_text(self.password)
        if self.as_user:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c max_connections=100"
        log = self.folder / "server.log"
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-o", options, "-w", "start")

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def connect(self, db_name: str = "postgres"):
        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user=self.user, password=self.password, dbname=db_name
        )

    def create_database(self, name: str) -> None:
        connection = self.connect()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()


@pytest.fixture(scope="module")
def postgres():
    bin_dir = postgres_bin()
    if bin_dir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) are absent: apt-get install postgresql"
        if os.environ.get("CI_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    server = Postgres(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_env(postgres, request, monkeypatch) -> dict[str, str]:
    """A database of its own for the test, and the DAGSTER_PG_* variables deploy/aws/dagster.yaml reads."""
    name = "dagster_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    postgres.create_database(name)
    variables = {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_USER": postgres.user,
        "DAGSTER_PG_PASSWORD": postgres.password,
        "DAGSTER_PG_DB": name,
    }
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    return variables


def postgres_home(folder: Path, **overrides) -> Path:
    """A DAGSTER_HOME whose dagster.yaml is deploy/aws/dagster.yaml with compute logs local and the default
    run launcher (S3 and ECS need AWS), and nothing else changed."""
    config = deploy_config()
    config["compute_logs"] = {
        "module": "dagster._core.storage.local_compute_log_manager",
        "class": "LocalComputeLogManager",
        "config": {"base_dir": str(folder / "logs")},
    }
    config["local_artifact_storage"]["config"]["base_dir"] = str(folder / "artifacts")
    del config["run_launcher"], config["run_monitoring"]
    config.update(overrides)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagster.yaml").write_text(yaml.safe_dump(config))
    return folder


def table_count(postgres: Postgres, db_name: str, sql: str) -> int:
    with postgres.connect(db_name) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


# --- the file itself ----------------------------------------------------------------------------------


def test_run_queue_and_retries_are_the_repository_ones():
    deployed, local = deploy_config(), yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert deployed["run_queue"] == local["run_queue"]
    assert deployed["run_retries"] == local["run_retries"]
    assert deployed["telemetry"] == local["telemetry"]
    # Nothing secret or account-specific is written in the file: every storage value comes from the environment.
    database = deployed["storage"]["postgres"]["postgres_db"]
    assert database.pop("scheme") == "postgresql+psycopg2"  # the driver dagster-postgres installs
    assert set(database) == {"hostname", "port", "username", "password", "db_name"}
    assert all(set(value) == {"env"} for value in database.values())


def test_the_image_uses_this_instance():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY deploy/aws/dagster.yaml /opt/dagster/home/dagster.yaml" in dockerfile
    assert "DAGSTER_HOME=/opt/dagster/home" in dockerfile


def test_the_whole_file_loads_with_ecs_and_s3_on_moto(postgres, pg_env, tmp_path, monkeypatch):
    import boto3
    from dagster_aws.ecs import EcsRunLauncher
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
    from moto import mock_aws

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "DAGSTER_COMPUTE_LOGS_BUCKET": "ecommerce-pipeline-prod-dagster-123456789012",
        "DAGSTER_RUN_TASK_DEFINITION": "ecommerce-pipeline-prod-run",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    shutil.copy(DEPLOY_YAML, tmp_path / "dagster.yaml")
    with mock_aws():
        boto3.client("s3").create_bucket(
            Bucket=os.environ["DAGSTER_COMPUTE_LOGS_BUCKET"],
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        )
        # What infra/modules/ecs registers: the run task definition with its "run" container.
        registered = boto3.client("ecs").register_task_definition(
            family="ecommerce-pipeline-prod-run",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="1024",
            memory="4096",
            containerDefinitions=[{"name": "run", "image": "ecommerce-pipeline:test", "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
            assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
            assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
            launcher = instance.run_launcher
            assert isinstance(launcher, EcsRunLauncher)
            assert launcher.task_definition == registered  # resolved from DAGSTER_RUN_TASK_DEFINITION
            assert launcher.container_name == "run" and launcher.secrets_tags == []
            assert launcher.use_current_ecs_task_config
            assert instance.run_monitoring_enabled
            assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 2
            assert instance.run_retries_enabled and instance.run_retries_max_retries == 3
    # Dagster created its tables in the database the variables name.
    assert table_count(postgres, pg_env["DAGSTER_PG_DB"], "SELECT count(*) FROM pg_tables WHERE tablename = 'runs'")


def test_the_run_launcher_config_is_valid_without_aws(monkeypatch):
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema
    from dagster_aws.ecs import EcsRunLauncher

    # The values the ECS task definitions give (only their presence matters for the schema).
    for name in ("HOST", "USER", "PASSWORD", "DB"):
        monkeypatch.setenv(f"DAGSTER_PG_{name}", "x")
    monkeypatch.setenv("DAGSTER_PG_PORT", "5432")
    monkeypatch.setenv("DAGSTER_COMPUTE_LOGS_BUCKET", "bucket")
    config = deploy_config()
    assert process_config(dagster_instance_config_schema(), config).success
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
    result = process_config(EcsRunLauncher.config_type(), launcher["config"])
    assert result.success, result.errors
    result = process_config(EcsRunLauncher.config_type(), {**launcher["config"], "container_nme": "x"})
    assert not result.success  # the check does catch a wrong key


# --- the definitions on PostgreSQL --------------------------------------------------------------------


@pytest.mark.slow
def test_a_partition_runs_on_the_postgres_instance(postgres, pg_env, tmp_path, monkeypatch):
    from ecommerce_pipeline.runner.run import medallion_job_def, run_range

    home = postgres_home(tmp_path / "dagster_home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("ECOM_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("ECOM_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("ECOM_CATALOG_PATH", str(tmp_path / "lake" / "catalog.duckdb"))
    day = date(2025, 1, 1)
    generate_store(tmp_path / "landing", day, day, lines_per_day=20, seed=5)
    with dg.DagsterInstance.get() as instance:
        result = run_range(medallion_job_def, instance, day, day)
        assert result.success
        run_id = result.run_id
    # A new instance (a restarted process) reads the run and its materializations back from PostgreSQL.
    with dg.DagsterInstance.get() as instance:
        assert "Postgres" in type(instance.run_storage).__name__
        run = instance.get_run_by_id(run_id)
        assert run.is_success
        graph = medallion_job_def().asset_layer.asset_graph
        for key in graph.get_all_asset_keys():
            assert instance.get_materialized_partitions(key) == {"2025-01-01"}, key.to_user_string()
    db = pg_env["DAGSTER_PG_DB"]
    assert table_count(postgres, db, f"SELECT count(*) FROM runs WHERE run_id = '{run_id}'") == 1
    assert table_count(
        postgres, db, "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
    )


class Daemon:
    """``dagster-daemon run`` as a subprocess (a process group, so its code server goes with it)."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log
        daemon = str(Path(sys.executable).parent / "dagster-daemon")
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [daemon, "run", "-m", "ecommerce_pipeline.definitions"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # as abruptly as a task being replaced can end
        self.process.wait(timeout=60)

    def wait_for(self, predicate, what: str, timeout: float = 240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"dagster-daemon exited:\n{self.log.read_text()[-3000:]}"
            value = predicate()
            if value:
                return value
            time.sleep(2)
        raise AssertionError(f"timed out waiting for {what}\n{self.log.read_text()[-3000:]}")


def arrival_state(instance: dg.DagsterInstance):
    states = [s for s in instance.all_instigator_state() if s.name == ARRIVAL]
    return states[0] if states else None


def arrival_ticks(instance: dg.DagsterInstance):
    state = arrival_state(instance)
    return instance.get_ticks(state.instigator_origin_id, state.selector_id) if state else []


def arrival_runs(instance: dg.DagsterInstance) -> dict[str, list[str]]:
    runs: dict[str, list[str]] = {}
    for run in instance.get_runs(filters=dg.RunsFilter(tags={"ecommerce/trigger": "arrival"})):
        runs.setdefault(run.tags["dagster/partition"], []).append(run.run_id)
    return runs


@pytest.mark.slow
def test_sensor_cursor_and_run_history_survive_a_daemon_restart(postgres, pg_env, tmp_path, monkeypatch):
    # The run queue is paused (0 concurrent runs): the requested runs stay QUEUED in the run history, so the
    # test is about what the daemon stores, not about executing the runs (test above does that).
    home = postgres_home(tmp_path / "dagster_home", run_queue={"max_concurrent_runs": 0})
    landing = tmp_path / "landing"
    generate_store(landing, date(2025, 1, 1), date(2025, 1, 1), lines_per_day=5, seed=3)
    env = {
        **os.environ,
        **pg_env,
        "DAGSTER_HOME": str(home),
        "ECOM_LANDING_DIR": str(landing),
        "ECOM_LAKE_DIR": str(tmp_path / "lake"),
        "ECOM_CATALOG_PATH": str(tmp_path / "lake" / "catalog.duckdb"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    for key in ("DAGSTER_HOME", "ECOM_LANDING_DIR", "ECOM_LAKE_DIR", "ECOM_CATALOG_PATH"):
        monkeypatch.setenv(key, env[key])
    dagster = str(Path(sys.executable).parent / "dagster")
    subprocess.run(
        [dagster, "sensor", "start", ARRIVAL, "-m", "ecommerce_pipeline.definitions"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    log = tmp_path / "daemon.log"

    first = Daemon(env, log)
    try:
        with dg.DagsterInstance.get() as instance:
            first.wait_for(lambda: arrival_runs(instance).get("2025-01-01"), "the first arrival run request")
            first.wait_for(lambda: arrival_state(instance).instigator_data.cursor or None, "the sensor's cursor")
            cursor = arrival_state(instance).instigator_data.cursor
            (first_run,) = arrival_runs(instance)["2025-01-01"]
            ticks_before = len(arrival_ticks(instance))
    finally:
        first.kill()

    # Read back by a fresh instance after the daemon died: nothing lived only in the daemon's memory.
    with dg.DagsterInstance.get() as instance:
        assert arrival_state(instance).instigator_data.cursor == cursor
        assert "landing/orders" not in cursor and "orders/2025-01-01/" in cursor
        assert instance.get_run_by_id(first_run).status == dg.DagsterRunStatus.QUEUED
    # A file lands for the next day while the daemon is down.
    generate_store(landing, date(2025, 1, 2), date(2025, 1, 2), lines_per_day=5, seed=4)

    second = Daemon(env, log)
    try:
        with dg.DagsterInstance.get() as instance:
            # The interval between ticks is measured from the last tick stored in PostgreSQL (60 s).
            second.wait_for(lambda: arrival_runs(instance).get("2025-01-02"), "the restarted daemon's run request")
            second.wait_for(
                lambda: arrival_ticks(instance)[0].status != TickStatus.STARTED, "the tick to finish", timeout=60
            )
            runs = arrival_runs(instance)
            # The first day is not requested again: the cursor was resumed, not rebuilt from an empty one.
            assert runs == {"2025-01-01": [first_run], "2025-01-02": runs["2025-01-02"]}
            assert len(runs["2025-01-02"]) == 1
            assert len(arrival_ticks(instance)) > ticks_before
            resumed = arrival_state(instance).instigator_data.cursor
            assert "orders/2025-01-01/" in resumed and "orders/2025-01-02/" in resumed
    finally:
        second.kill()
