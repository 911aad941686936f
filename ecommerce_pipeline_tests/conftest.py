"""Fixtures that build tiny stores in code: landing files, settings pointing at temp folders."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.transforms.bronze import validate_batch
from ecommerce_pipeline.transforms.landing import parse_landing_file

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
            "customer_id": "C3",
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


@pytest.fixture(scope="session")
def silver_tables() -> dict[str, pa.Table]:
    """The hand-made store taken through the silver transforms, as the gold tests' input."""
    from ecommerce_pipeline.settings import DEFAULT_NON_REVENUE_STATUSES
    from ecommerce_pipeline.transforms.customers import customers_clean
    from ecommerce_pipeline.transforms.events import events_clean
    from ecommerce_pipeline.transforms.orders import orders_validated
    from ecommerce_pipeline.transforms.products import products_clean

    customers = customers_clean(bronze("customers", STORE["customers"]), [DAY]).table
    products = products_clean(bronze("products", STORE["products"]), [DAY]).table
    orders = orders_validated(
        bronze("orders", STORE["orders"]),
        bronze("order_items", STORE["order_items"]),
        customers,
        products,
        DEFAULT_NON_REVENUE_STATUSES,
    ).table
    events = events_clean(bronze("events", STORE["events"])).table
    return {
        "customers_clean": customers,
        "products_clean": products,
        "orders_validated": orders,
        "events_clean": events,
    }


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


@contextmanager
def mocked_aws(tmp_path: Path):
    """ECOM_ENV=aws against moto's in-process S3, Glue and Athena, with the buckets and workgroup created."""
    from moto import mock_aws

    variables = aws_variables(tmp_path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        (tmp_path / "dagster_home").mkdir(exist_ok=True)
        with mock_aws():
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
