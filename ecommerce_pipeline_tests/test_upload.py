"""``ecommerce-pipeline upload`` and ``generate --to s3://``: landing files into the landing bucket (moto)."""

from datetime import date

import boto3

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.ops.upload import upload_landing
from ecommerce_pipeline.storage.aws import session
from ecommerce_pipeline.storage.s3_landing import S3LandingStore

from .conftest import DAY, STORE


def landing_keys(env) -> list[str]:
    bucket, _, prefix = env["ECOM_LANDING_URI"][len("s3://") :].partition("/")
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"][len(prefix) + 1 :] for o in listed)


def test_upload_puts_each_file_at_its_landing_key_and_the_store_reads_it_back(aws_env, write_landing):
    root = write_landing("orders", STORE["orders"])
    write_landing("orders", STORE["orders"], name=".partial.csv")  # hidden: an upload in progress stays behind
    write_landing("events", STORE["events"], day=date(2025, 1, 3))  # outside the range
    summary = upload_landing(root, aws_env["ECOM_LANDING_URI"], DAY, date(2025, 1, 2), session("eu-west-1"))
    assert summary.files == 1 and summary.bytes == (root / "orders/2025-01-01/orders.csv").stat().st_size
    assert summary.days_without_files == [date(2025, 1, 2)]
    assert landing_keys(aws_env) == ["orders/2025-01-01/orders.csv"]
    store = S3LandingStore(aws_env["ECOM_LANDING_URI"])
    (landed,) = store.list_files("orders", DAY)
    assert store.read_bytes(landed) == (root / "orders/2025-01-01/orders.csv").read_bytes()


def test_the_upload_command_reads_ecom_landing_uri_and_says_what_it_did(aws_env, store_landing, monkeypatch, capsys):
    monkeypatch.setenv("ECOM_LANDING_DIR", str(store_landing))
    assert main(["upload", "--start", "2025-01-01"]) == 0
    assert "Uploaded 5 file(s)" in capsys.readouterr().out
    assert landing_keys(aws_env) == sorted(f"{e}/2025-01-01/{e}.csv" for e in STORE)
    # Nothing to upload is a failure, and so is a missing destination: never a silent success.
    assert main(["upload", "--start", "2025-02-01"]) == 1
    assert "no files for: 2025-02-01" in capsys.readouterr().out
    monkeypatch.delenv("ECOM_LANDING_URI")
    assert main(["upload", "--start", "2025-01-01"]) == 2
    assert "ECOM_LANDING_URI is not set" in capsys.readouterr().err
    assert main(["upload", "--start", "2025-01-01", "--to", "s3://no-such-bucket/x"]) == 1
    assert "NoSuchBucket" in capsys.readouterr().err


def test_generate_writes_straight_to_the_landing_bucket(aws_env, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["--start", "2025-01-01", "--end", "2025-01-02", "--lines-per-day", "50", "--seed", "3"]
    assert main(["generate", *args, "--to", aws_env["ECOM_LANDING_URI"]]) == 0
    out = capsys.readouterr().out
    # Five entities a day, and from the second day a file of order updates.
    assert "Generated 2 day(s)" in out and "Uploaded 11 file(s)" in out
    keys = landing_keys(aws_env)
    assert len(keys) == 11 and "orders/2025-01-02/order_updates_2025-01-02.csv" in keys
    # The same files as a local generation with the same seed: byte for byte.
    assert main(["generate", *args, "--to", str(tmp_path / "local")]) == 0
    store = S3LandingStore(aws_env["ECOM_LANDING_URI"])
    for key in keys:
        entity, day, _ = key.split("/")
        (landed,) = [f for f in store.list_files(entity, date.fromisoformat(day)) if f.key == key]
        assert store.read_bytes(landed) == (tmp_path / "local" / key).read_bytes()
    assert not (tmp_path / "data").exists()  # nothing was left in the default landing folder


def test_generate_to_an_unset_variable_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--start", "2025-01-01", "--end", "2025-01-01", "--to", ""]) == 2
    assert "--to is empty (is ECOM_LANDING_URI set?" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
