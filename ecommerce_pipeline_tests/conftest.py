"""Fixtures that build tiny stores in code: landing files, settings pointing at temp folders."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.ingest import parse_landing_file
from ecommerce_pipeline.transforms.bronze import validate_batch

DAY = date(2025, 1, 1)
NOW = datetime(2025, 1, 2, 3, 0, tzinfo=UTC)


def csv_bytes(rows: list[dict]) -> bytes:
    header = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def bronze(entity: str, rows: list[dict], day: date = DAY, name: str | None = None) -> pa.Table:
    """Valid bronze rows of ``rows`` (as if they had landed in one CSV file on ``day``)."""
    parsed = parse_landing_file(name or f"{entity}/{day}/{entity}.csv", csv_bytes(rows))
    result = validate_batch(ENTITIES[entity], [parsed], day, "test-batch", NOW)
    assert result.quarantine.num_rows == 0, result.quarantine.column("detail").to_pylist()
    return result.valid


# A small, hand-checkable store for one day: figures in tests are worked out from these rows.
STORE = {
    "customers": [
        {"customer_id": "C1", "email": " Ann@Example.com ", "phone": "(555) 123-4567", "state": "CA", "country": "US"},
        {"customer_id": "C2", "email": "bob@example.com", "phone": "", "state": "", "country": "BR"},
        {"customer_id": "C3", "email": "not-an-email", "phone": "", "state": "NY", "country": "US"},
    ],
    "products": [
        {"product_id": "P1", "product_name": "Phone", "category": "Electronics", "base_price": "100"},
        {"product_id": "P2", "product_name": "Shirt", "category": "", "base_price": "20"},
    ],
    "orders": [
        {
            "order_id": "O1",
            "customer_id": "C1",
            "order_ts": "2025-01-01T10:00:00Z",
            "status": "delivered",
            "shipping_cost": "5",
            "tax": "2",
        },
        {
            "order_id": "O2",
            "customer_id": "C2",
            "order_ts": "2025-01-01 11:00:00",
            "status": "Cancelled",
            "shipping_cost": "0",
            "tax": "0",
        },
        {
            "order_id": "O3",
            "customer_id": "C2",
            "order_ts": "2025-01-01T12:00:00+01:00",
            "status": "shipped",
            "shipping_cost": "1",
            "tax": "0",
        },
        {
            "order_id": "O3",
            "customer_id": "C2",
            "order_ts": "2025-01-01T12:00:00+01:00",
            "status": "shipped",
            "shipping_cost": "1",
            "tax": "0",
        },
        {
            "order_id": "O4",
            "customer_id": "C404",  # not a customer: the order is kept, counted in unknown_customers
            "order_ts": "2025-01-01T13:00:00Z",
            "status": "delivered",
            "shipping_cost": "0",
            "tax": "0",
        },
        {
            "order_id": "O5",
            "customer_id": "C1",
            "order_ts": "2025-01-01T14:00:00Z",
            "status": "delivered",
            "shipping_cost": "0",
            "tax": "0",
        },
    ],
    "order_items": [
        {
            "order_id": "O1",
            "line_number": "1",
            "product_id": "P1",
            "quantity": "1",
            "unit_price": "100",
            "discount": "10",
        },
        {"order_id": "O1", "line_number": "2", "product_id": "P2", "quantity": "2", "unit_price": "20", "discount": ""},
        {
            "order_id": "O2",
            "line_number": "1",
            "product_id": "P1",
            "quantity": "1",
            "unit_price": "100",
            "discount": "",
        },
        {
            "order_id": "O3",
            "line_number": "1",
            "product_id": "P2",
            "quantity": "3",
            "unit_price": "20",
            "discount": "0",
        },
        {"order_id": "O4", "line_number": "1", "product_id": "P2", "quantity": "1", "unit_price": "20", "discount": ""},
        {"order_id": "O5", "line_number": "1", "product_id": "P9", "quantity": "1", "unit_price": "5", "discount": ""},
        {
            "order_id": "O5",
            "line_number": "2",
            "product_id": "P1",
            "quantity": "1",
            "unit_price": "100",
            "discount": "",
        },
    ],
    "events": [
        {
            "event_id": "E1",
            "session_id": "S1",
            "event_type": "page_view",
            "event_ts": "2025-01-01T09:00:00Z",
            "device_type": "Mobile",
        },
        {
            "event_id": "E2",
            "session_id": "S1",
            "event_type": "product_view",
            "event_ts": "2025-01-01T09:01:00Z",
            "product_id": "P1",
        },
        {
            "event_id": "E3",
            "session_id": "S1",
            "event_type": "add_to_cart",
            "event_ts": "2025-01-01T09:02:00Z",
            "product_id": "P1",
        },
        {
            "event_id": "E4",
            "session_id": "S1",
            "event_type": "purchase",
            "event_ts": "2025-01-01T09:05:00Z",
            "customer_id": "C1",
        },
        {
            "event_id": "E4",
            "session_id": "S1",
            "event_type": "purchase",
            "event_ts": "2025-01-01T09:05:00Z",
            "customer_id": "C1",
        },
        {
            "event_id": "E5",
            "session_id": "S2",
            "event_type": "page_view",
            "event_ts": "2025-01-01T10:00:00Z",
            "device_type": "desktop",
        },
        {
            "event_id": "E6",
            "session_id": "S2",
            "event_type": "product_view",
            "event_ts": "2025-01-01T10:01:00Z",
            "product_id": "P2",
            "device_type": "desktop",
        },
    ],
}


def silver_of(store: dict = STORE, day: date = DAY, timezone: str = "UTC") -> dict[str, pa.Table]:
    """One landing day of ``store`` taken through the silver transforms from an empty lake, as the silver
    assets chain them: dimension histories, order versions and their current state, events by date."""
    from ecommerce_pipeline.settings import DEFAULT_NON_REVENUE_STATUSES
    from ecommerce_pipeline.transforms.bronze import QUARANTINE_SCHEMA
    from ecommerce_pipeline.transforms.customers import customers_clean
    from ecommerce_pipeline.transforms.events import merge_events, new_events
    from ecommerce_pipeline.transforms.orders import (
        DIMENSION_COLUMNS,
        UNRESOLVED_COLUMNS,
        merge_versions,
        order_batch,
        resolve_dimensions,
    )
    from ecommerce_pipeline.transforms.products import products_clean

    customers = customers_clean(bronze("customers", store["customers"], day), None, [day]).history
    products = products_clean(bronze("products", store["products"], day), None, [day]).history
    batch = order_batch(
        bronze("orders", store["orders"], day),
        bronze("order_items", store["order_items"], day),
        QUARANTINE_SCHEMA.empty_table(),
        timezone,
    )
    touched = sorted(set(batch.headers.column("order_id").to_pylist()))
    merged = merge_versions(None, None, batch, [day], touched)
    orders = resolve_dimensions(
        merged.current.select(UNRESOLVED_COLUMNS),
        customers.select(DIMENSION_COLUMNS["customers"]),
        products.select(DIMENSION_COLUMNS["products"]),
        DEFAULT_NON_REVENUE_STATUSES,
    )
    events = merge_events(None, new_events(bronze("events", store["events"], day), timezone), [day])
    return {
        "customers_clean": customers,
        "products_clean": products,
        "orders_validated": orders,
        "events_clean": events,
        "order_batch": batch,
        "order_versions": merged.headers,
    }


@pytest.fixture(scope="session")
def silver_tables() -> dict[str, pa.Table]:
    """The hand-made store taken through the silver transforms, as the gold tests' input."""
    return silver_of()


@pytest.fixture
def write_landing(tmp_path: Path) -> Callable[..., Path]:
    """Write ``rows`` (or raw bytes) as a landing file and return the landing root."""
    root = tmp_path / "landing"

    def write(entity: str, rows: list[dict] | bytes, day: date = DAY, name: str | None = None) -> Path:
        data = rows if isinstance(rows, bytes) else csv_bytes(rows)
        path = root / entity / day.isoformat() / (name or f"{entity}.csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return root

    return write


@pytest.fixture
def store_landing(write_landing) -> Path:
    for entity, rows in STORE.items():
        root = write_landing(entity, rows)
    return root


@pytest.fixture
def project_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every ECOM_* setting and DAGSTER_HOME at folders under ``tmp_path``."""
    monkeypatch.setenv("ECOM_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("ECOM_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("ECOM_CATALOG_PATH", str(tmp_path / "lake" / "catalog.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return tmp_path


AWS_BUCKETS = {
    "ECOM_LANDING_URI": "s3://ecom-landing/exports",
    "ECOM_BRONZE_URI": "s3://ecom-bronze",
    "ECOM_SILVER_URI": "s3://ecom-silver",
    "ECOM_GOLD_URI": "s3://ecom-gold/lake",
    "ECOM_ATHENA_RESULTS_URI": "s3://ecom-athena-results/",
}


def aws_variables(tmp_path: Path) -> dict[str, str]:
    """ECOM_ENV=aws with fake credentials and one bucket per layer (a prefix on two, to prove prefixes work)."""
    return {
        "ECOM_ENV": "aws",
        **AWS_BUCKETS,
        "ECOM_GLUE_DATABASE": "ecommerce_analytics_test",
        "ECOM_ATHENA_WORKGROUP": "ecommerce_test",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }


def create_aws_fixtures(variables: dict[str, str]) -> None:
    """The buckets and Athena workgroup Terraform creates in a real account."""
    import boto3

    session = boto3.Session(region_name=variables["AWS_REGION"])
    s3 = session.client("s3")
    for name in {uri.split("/")[2] for uri in AWS_BUCKETS.values()}:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": variables["AWS_REGION"]})
    session.client("athena").create_work_group(
        Name=variables["ECOM_ATHENA_WORKGROUP"],
        Configuration={"ResultConfiguration": {"OutputLocation": variables["ECOM_ATHENA_RESULTS_URI"]}},
    )


def upload_store(variables: dict[str, str], day: date = DAY) -> None:
    """The hand-made STORE as landing CSV files on S3."""
    import boto3

    bucket, _, prefix = variables["ECOM_LANDING_URI"][len("s3://") :].partition("/")
    s3 = boto3.Session(region_name=variables["AWS_REGION"]).client("s3")
    for entity, rows in STORE.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{entity}/{day}/{entity}.csv", Body=csv_bytes(rows))


_MOTO: dict[str, object] = {}


def moto_endpoint() -> str:
    """A moto server on 127.0.0.1 for the whole test session (started on first use), emptied before each use.

    A server rather than moto's in-process mock: pyiceberg and the lake read and write files through pyarrow's
    own S3 client, which an in-process mock of boto3 cannot see. The server counts the object GETs it answers
    (``metered_server().meter``). boto3 and awswrangler reach it through
    AWS_ENDPOINT_URL, like any other S3-compatible endpoint.
    """
    from urllib.request import Request, urlopen

    from ecommerce_pipeline.ops.local_aws import MeteredMotoServer

    if "server" not in _MOTO:
        server = MeteredMotoServer().start()
        _MOTO["server"] = server
        _MOTO["url"] = server.endpoint
    with urlopen(Request(f"{_MOTO['url']}/moto-api/reset", method="POST"), timeout=30):
        pass
    _MOTO["server"].meter.reset()
    return str(_MOTO["url"])


def metered_server():
    """The session's moto server (started by ``moto_endpoint``, under ``aws_env``), whose ``meter`` notes every
    object GET it answers."""
    return _MOTO["server"]


@contextmanager
def mocked_aws(tmp_path: Path):
    """ECOM_ENV=aws against moto's S3, Glue and Athena (a server on 127.0.0.1), with the buckets and workgroup
    created."""
    variables = {**aws_variables(tmp_path), "AWS_ENDPOINT_URL": moto_endpoint()}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        (tmp_path / "dagster_home").mkdir(exist_ok=True)
        create_aws_fixtures(variables)
        yield variables


@pytest.fixture
def aws_env(tmp_path: Path):
    with mocked_aws(tmp_path) as variables:
        yield variables


def queue_athena_results(*results: list[dict[str, str]] | None) -> None:
    """What moto's Athena answers to the next queries, in order (it runs no SQL): each a list of rows, with
    Athena's header row first; ``None`` is a statement with no result (an UNLOAD)."""
    import os

    import requests

    queued = []
    for rows in results:
        names = list(rows[0]) if rows else []
        header = [{"Data": [{"VarCharValue": n} for n in names]}] if rows else []
        data = [{"Data": [{"VarCharValue": str(v)} for v in row.values()]} for row in rows or []]
        queued.append({"rows": header + data, "column_info": [{"Name": n, "Type": "varchar"} for n in names]})
    answer = requests.post(
        f"{os.environ.get('AWS_ENDPOINT_URL', 'http://motoapi.amazonaws.com')}/moto-api/static/athena/query-results",
        json={"region": os.environ["AWS_REGION"], "results": queued},
        timeout=10,
    )
    assert answer.status_code == 201


def write_manifest(uri: str, files: list[str]) -> None:
    """A data manifest as Athena writes it: one s3:// path a line."""
    import boto3

    bucket, _, key = uri[len("s3://") :].partition("/")
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body="".join(f"{f}\n" for f in files).encode())


def staged_files(staging: str) -> list[str]:
    """Every object under an s3:// prefix, as s3:// paths."""
    import boto3

    bucket, _, prefix = staging[len("s3://") :].partition("/")
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(f"s3://{bucket}/{o['Key']}" for o in listed)


def stage_like_unload(s3_uri: str, table: pa.Table) -> None:
    """Write ``table`` as Athena's UNLOAD does: business_date=<day>/ folders, several files, the column dropped."""
    import boto3
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    s3 = boto3.client("s3")
    bucket, _, prefix = s3_uri[len("s3://") :].partition("/")
    for day in pc.unique(table.column("business_date")).to_pylist():
        rows = table.filter(pc.equal(table.column("business_date"), pa.scalar(day, pa.date32()))).drop_columns(
            "business_date"
        )
        half = rows.num_rows // 2
        for i, part in enumerate((rows.slice(0, half), rows.slice(half))):
            buffer = io.BytesIO()
            pq.write_table(part, buffer, compression="snappy")
            s3.put_object(Bucket=bucket, Key=f"{prefix}business_date={day}/2025_{i}_a1b2", Body=buffer.getvalue())


def glue_iceberg_table(name: str, snapshot_id: int | None = None) -> pa.Table:
    """A Glue table by its Athena name (``silver_orders_validated``): the rows of the Iceberg table, current or
    as of a snapshot (``FOR VERSION AS OF``)."""
    from ecommerce_pipeline.defs.resources import GlueTablesResource

    layer, _, rest = name.partition("_")
    store = GlueTablesResource().store()
    if snapshot_id is not None:
        return store.read_as_of(f"{layer}/{rest}", snapshot_id)
    found = store.read(f"{layer}/{rest}")
    if found is None:
        raise LookupError(f"no Iceberg table {name} in Glue")
    return found


def athena_on_duckdb(
    monkeypatch: pytest.MonkeyPatch,
    read_table: Callable[[str, int | None], pa.Table] = glue_iceberg_table,
    *,
    stage: bool = True,
    manifest: bool = True,
    answer: bool = True,
    extra_rows: int = 0,
) -> list[str]:
    """``Athena.run`` on moto plus what a real Athena does and moto does not (moto runs no SQL).

    Each SELECT and UNLOAD is transpiled to DuckDB and run over the tables it names (``read_table(name,
    snapshot id of a FOR VERSION AS OF or None)``; by default the Iceberg tables of the configured Glue catalog): a SELECT's rows are queued in moto as its
    result, an UNLOAD's rows are written into its staging folder as Athena writes them, with the data manifest
    listing them beside the query's result. The faults a real Athena can show: ``stage=False`` an UNLOAD that
    writes no file (its manifest is empty), ``manifest=False`` no manifest at all, ``answer=False`` SELECTs that
    answer no rows (moto's own behaviour), ``extra_rows`` added to every count. Returns the statements run."""
    import re

    import sqlglot
    from sqlglot import exp

    from ecommerce_pipeline.catalog.athena import Athena
    from ecommerce_pipeline.transforms.sql import athena_to_duckdb, query

    real_run = Athena.run
    statements: list[str] = []

    def on_duckdb(select_sql: str) -> pa.Table:
        tree = sqlglot.parse_one(select_sql, read="athena")
        ctes = {c.alias for c in tree.find_all(exp.CTE)}
        tables = {}
        for table in tree.find_all(exp.Table):
            if table.name not in ctes:
                version = table.args.get("version")
                tables[table.name] = read_table(table.name, int(version.expression.name) if version else None)
                table.set("version", None)  # DuckDB reads the registered table as it was at that snapshot
        return query(athena_to_duckdb(tree.sql(dialect="athena")), **tables)

    def run(self, sql):
        statements.append(sql)
        unload = re.fullmatch(r"UNLOAD \((.*)\)\nTO '([^']+)'\nWITH \(.*\)", sql, re.S)
        if unload is None and sql.lstrip().upper().startswith(("SELECT", "WITH")) and answer:
            rows = on_duckdb(sql).to_pylist()
            for row in rows:
                if "row_count" in row:
                    row["row_count"] += extra_rows
            queue_athena_results(rows)
        done = real_run(self, sql)
        if unload is not None:
            if stage:
                staged = on_duckdb(unload.group(1))
                if staged.num_rows:
                    stage_like_unload(unload.group(2), staged)
            if manifest:
                location = done.output_location.rsplit("/", 1)[0] + f"/{done.query_id}-manifest.csv"
                write_manifest(location, staged_files(unload.group(2)))
        return done

    monkeypatch.setattr(Athena, "run", run)
    return statements


def local_run_env(tmp_path: Path, landing: Path, lake: Path, start_date: str) -> dict[str, str]:
    """The environment of a local run over ``landing`` into ``lake``, with partitions from ``start_date``."""
    return {
        **os.environ,
        "ECOM_START_DATE": start_date,
        "ECOM_LANDING_DIR": str(landing),
        "ECOM_LAKE_DIR": str(lake),
        "ECOM_CATALOG_PATH": str(lake / "catalog.duckdb"),
        "DAGSTER_HOME": str(tmp_path),
    }


def run_in_own_process(env: dict[str, str], start: str, end: str) -> None:
    """`ecommerce-pipeline run` over [start, end] in its own process, which must succeed with every check
    passing: partitions are fixed when the definitions are imported, so a run whose partitions start on
    another date (real data from 2017 or 2019) cannot share the test process's definitions."""
    proc = subprocess.run(
        [sys.executable, "-m", "ecommerce_pipeline.cli", "run", "--start", start, "--end", end],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "check failed" not in proc.stdout
