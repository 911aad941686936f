"""The landing arrival sensor, evaluated for real against a local folder and a moto S3 bucket."""

import json
import os
from datetime import date
from decimal import Decimal

import boto3
import dagster as dg
import pytest
from moto import mock_aws

from ecommerce_pipeline.definitions import defs
from ecommerce_pipeline.defs.automation.arrival import landing_arrival_sensor
from ecommerce_pipeline.storage.landing import LocalLandingStore
from ecommerce_pipeline.storage.tables import local_table_store

from .conftest import STORE, csv_bytes


def tick(instance, cursor=None):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=defs.get_repository_def(),
        sensor_name=landing_arrival_sensor.name,
    )
    return landing_arrival_sensor.evaluate_tick(context)


def by_partition(result):
    return {r.partition_key: r for r in result.run_requests}


class LocalLanding:
    def __init__(self, root):
        self.root = root

    def put(self, key: str, data: bytes):
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        path.write_bytes(data)
        if existed:  # a re-upload within the same clock tick must still look new
            stat = path.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


class S3Landing:
    def __init__(self, client, bucket, prefix):
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, key: str, data: bytes):
        self.client.put_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}", Body=data)


@pytest.fixture(params=["local", "s3"])
def landing(request, project_env, monkeypatch):
    if request.param == "local":
        yield LocalLanding(project_env / "landing")
        return
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("ECOM_LANDING_URI", "s3://shop-landing/exports")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="shop-landing")
        client.put_object(Bucket="shop-landing", Key="elsewhere/orders/2025-01-01/x.csv", Body=b"outside the prefix")
        yield S3Landing(client, "shop-landing", "exports")


def test_new_files_give_one_run_per_partition_and_are_never_requested_twice(landing):
    for entity in ("orders", "order_items"):
        landing.put(f"{entity}/2025-01-01/{entity}.csv", csv_bytes(STORE[entity]))
    landing.put("customers/2025-01-02/customers.csv", csv_bytes(STORE["customers"]))
    landing.put("orders/2025-01-02/.partial.csv", b"hidden upload in progress")
    with dg.instance_for_test() as instance:
        first = tick(instance)
        runs = by_partition(first)
        assert set(runs) == {"2025-01-01", "2025-01-02"}
        assert runs["2025-01-01"].tags["ecommerce/landing_files"] == "2"
        assert runs["2025-01-01"].run_key != runs["2025-01-02"].run_key
        assert set(json.loads(first.cursor)) == {
            "orders/2025-01-01/orders.csv",
            "order_items/2025-01-01/order_items.csv",
            "customers/2025-01-02/customers.csv",
        }

        # A restart resumes from the stored cursor: nothing new, nothing requested.
        assert tick(instance, first.cursor).run_requests == []

        # A new file for day 2 requests day 2 only; the run key covers that file alone.
        landing.put("products/2025-01-02/products.csv", csv_bytes(STORE["products"]))
        second = tick(instance, first.cursor)
        (request,) = second.run_requests
        assert request.partition_key == "2025-01-02" and request.tags["ecommerce/landing_files"] == "1"
        assert request.run_key not in {r.run_key for r in first.run_requests}

        # A corrected file re-uploaded under the same key (late data for day 1) is noticed.
        landing.put("orders/2025-01-01/orders.csv", csv_bytes(STORE["orders"][:2]))
        third = tick(instance, second.cursor)
        (request,) = third.run_requests
        assert request.partition_key == "2025-01-01"
        assert request.run_key != runs["2025-01-01"].run_key
        assert tick(instance, third.cursor).run_requests == []


def test_unparseable_keys_are_logged_once_and_never_crash(landing, capfd):
    landing.put("refunds/2025-01-01/refunds.csv", b"refund_id\nR1\n")
    landing.put("orders/01-02-2025/orders.csv", b"order_id\nO1\n")
    landing.put("orders/2019-06-01/orders.csv", b"order_id\nO1\n")
    landing.put("orders/2025-01-03/orders.csv", csv_bytes(STORE["orders"]))
    with dg.instance_for_test() as instance:
        result = tick(instance)
        assert [r.partition_key for r in result.run_requests] == ["2025-01-03"]
        logged = capfd.readouterr().err
        assert "unknown entity 'refunds'" in logged
        assert "date folder '01-02-2025' is not YYYY-MM-DD" in logged
        assert "dated 2019-06-01, outside the partitions 2025-01-01.." in logged
        assert tick(instance, result.cursor).run_requests == []
        assert "landing file ignored" not in capfd.readouterr().err


def test_unusable_paths_and_unsupported_types_are_logged_and_hidden_folders_are_not(landing, capfd):
    landing.put("Orders/2025-01-01/orders.csv", b"order_id\nO1\n")
    landing.put("orders/2025-1-1/orders.csv", b"order_id\nO1\n")
    landing.put("orders/2025-02-30/orders.csv", b"order_id\nO1\n")
    landing.put("orders/2025-01-01.csv", b"order_id\nO1\n")
    landing.put("orders/2025-01-02/export.xlsx", b"PK")
    landing.put("orders/2025-01-02/.staging/orders.csv", b"order_id\nO1\n")
    landing.put("orders/2025-01-02/_temporary/orders.csv", b"order_id\nO1\n")
    with dg.instance_for_test() as instance:
        result = tick(instance)
        # The unsupported file's day still runs: bronze keeps the file whole in quarantine.
        assert [r.partition_key for r in result.run_requests] == ["2025-01-02"]
        logged = capfd.readouterr().err
        assert "unknown entity 'Orders' (entity folders are lower case: 'orders')" in logged
        assert "date folder '2025-1-1' is not YYYY-MM-DD" in logged
        assert "date folder '2025-02-30' is not YYYY-MM-DD" in logged
        assert "'orders/2025-01-01.csv' is not <entity>/<YYYY-MM-DD>/<file name>" in logged
        assert (
            "orders/2025-01-02/export.xlsx: quarantined whole as unparseable_file: unsupported file type .xlsx"
            in logged
        )
        assert ".staging" not in logged and "_temporary" not in logged


def test_the_local_listing_skips_hidden_folders_and_files(tmp_path):
    for key in ("orders/2025-01-01/a.csv", "orders/2025-01-01/_tmp/b.csv", ".trash/orders/2025-01-01/c.csv"):
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_text("x")
    assert [o.key for o in LocalLandingStore(tmp_path).list_objects()] == ["orders/2025-01-01/a.csv"]
    assert LocalLandingStore(tmp_path / "missing").list_objects() == []


def test_the_run_a_request_starts_materializes_that_day(project_env):
    landing = LocalLanding(project_env / "landing")
    for entity, rows in STORE.items():
        landing.put(f"{entity}/2025-01-01/{entity}.csv", csv_bytes(rows))
    with dg.instance_for_test() as instance:
        (request,) = tick(instance).run_requests
        job = defs.resolve_job_def(landing_arrival_sensor.job_name)
        result = job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags)
        assert result.success
    assert date(2025, 1, 1).isoformat() == request.partition_key
    # Gold is an Iceberg table: the day's figures are in its current snapshot.
    sales = local_table_store(project_env / "lake").read("gold/daily_sales_summary")
    assert set(sales.column("business_date").to_pylist()) == {date(2025, 1, 1)}
    assert sum(sales.column("total_revenue").to_pylist()) == Decimal("315.00")
