"""The S3 lake and landing store on moto's S3: keys, atomic replace, ranges, column pruning, type fidelity."""

from datetime import UTC, date, datetime

import boto3
import pyarrow as pa
import pytest

from ecommerce_pipeline.storage.lake import split_by_day
from ecommerce_pipeline.storage.s3_lake import S3Lake, layer_uris
from ecommerce_pipeline.storage.s3_landing import S3LandingStore

D1, D2, D3 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)


@pytest.fixture
def lake(aws_env) -> S3Lake:
    return S3Lake(layer_uris(aws_env["ECOM_BRONZE_URI"], aws_env["ECOM_SILVER_URI"], aws_env["ECOM_GOLD_URI"]))


def keys(bucket: str) -> list[str]:
    return sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))


def day_table(day: date, n: int, **extra) -> pa.Table:
    return pa.table(
        {
            "business_date": pa.array([day] * n, pa.date32()),
            "amount": pa.array([i if i % 2 else None for i in range(n)], pa.int64()),
            "seen_at": pa.array([datetime(2025, 1, 1, 9, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
            **extra,
        }
    )


def as_stored(table: pa.Table) -> pa.Table:
    """``table`` as the lake stores it: timestamps in milliseconds (what Athena reads), everything else as is."""
    return table.cast(
        pa.schema(
            [
                pa.field(f.name, pa.timestamp("ms", tz=f.type.tz)) if pa.types.is_timestamp(f.type) else f
                for f in table.schema
            ]
        )
    )


def test_tables_land_in_their_layer_bucket_in_the_hive_layout(lake):
    lake.write_partition("gold/daily_sales_summary", D1, day_table(D1, 2))
    lake.write_partition("bronze/orders", D1, day_table(D1, 2))
    lake.write_partition("quarantine/bronze_orders", D1, day_table(D1, 1))
    assert keys("ecom-gold") == ["lake/daily_sales_summary/year=2025/month=01/day=01/part-0.parquet"]
    assert keys("ecom-bronze") == [
        "orders/year=2025/month=01/day=01/part-0.parquet",
        "quarantine/bronze_orders/year=2025/month=01/day=01/part-0.parquet",
    ]
    assert lake.table_location("gold/daily_sales_summary") == "s3://ecom-gold/lake/daily_sales_summary/"


def test_types_round_trip_with_timestamps_in_milliseconds_and_parquet_is_snappy(lake):
    import io

    import pyarrow.parquet as pq

    table = day_table(D1, 3, name=pa.array(["a", None, "c"]))
    stats = lake.write_partition("silver/events_clean", D1, table)
    assert stats.rows == 3 and stats.location.endswith("day=01/part-0.parquet")
    assert lake.read_partition("silver/events_clean", D1).equals(as_stored(table))
    body = boto3.client("s3").get_object(Bucket="ecom-silver", Key=stats.location.split("ecom-silver/")[1])["Body"]
    assert pq.ParquetFile(io.BytesIO(body.read())).metadata.row_group(0).column(0).compression == "SNAPPY"


def test_rewriting_a_partition_puts_the_new_file_before_removing_strays(lake, monkeypatch):
    import awswrangler as wr

    s3 = boto3.client("s3")
    stray = "events_clean/year=2025/month=01/day=01/part-00000-old-writer.snappy.parquet"
    s3.put_object(Bucket="ecom-silver", Key=stray, Body=b"old")
    lake.write_partition("silver/events_clean", D1, day_table(D1, 5))
    calls = []
    for name in ("upload", "delete_objects"):
        real = getattr(wr.s3, name)
        monkeypatch.setattr(wr.s3, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    s3.put_object(Bucket="ecom-silver", Key=stray, Body=b"old")
    lake.write_partition("silver/events_clean", D1, day_table(D1, 2))
    assert calls == ["upload", "delete_objects"]
    assert keys("ecom-silver") == ["events_clean/year=2025/month=01/day=01/part-0.parquet"]
    assert lake.read_partition("silver/events_clean", D1).num_rows == 2


def test_ranges_read_only_the_days_asked_for_and_prune_columns(lake):
    for day, n in ((D1, 1), (D2, 2), (D3, 3)):
        lake.write_partition("silver/orders_validated", day, day_table(day, n))
    both = lake.read_partitions("silver/orders_validated", [D2, D3, date(2025, 1, 9)], columns=["amount", "nope"])
    assert both.column_names == ["amount"] and both.num_rows == 5
    assert lake.read_partitions("silver/orders_validated", [date(2024, 1, 1)]) is None
    assert lake.read_partition("silver/orders_validated", date(2024, 1, 1)) is None
    assert [d for d, _ in lake.partition_files("silver/orders_validated")] == [D1, D2, D3]


def test_a_range_written_in_one_go_is_split_by_day(lake):
    table = pa.concat_tables([day_table(D1, 1), day_table(D2, 2)])
    for day, part in split_by_day(table, [D1, D2]).items():
        lake.write_partition("gold/product_performance", day, part)
    assert lake.read_partition("gold/product_performance", D2).num_rows == 2


def test_unknown_layers_and_missing_buckets_are_refused(aws_env):
    with pytest.raises(ValueError, match="silver"):
        S3Lake(layer_uris("s3://ecom-bronze", None, "s3://ecom-gold"))
    lake = S3Lake(layer_uris("s3://ecom-bronze", "s3://ecom-silver", "s3://ecom-gold"))
    with pytest.raises(ValueError, match="layer"):
        lake.table_location("platinum/x")


def test_landing_store_lists_a_days_files_skipping_hidden_ones(aws_env):
    s3 = boto3.client("s3")
    for key in (
        "orders/2025-01-01/a.csv",
        "orders/2025-01-01/_SUCCESS",
        "orders/2025-01-02/b.csv",
        "orders/2025-01-01/sub/c.jsonl",
    ):
        s3.put_object(Bucket="ecom-landing", Key=f"exports/{key}", Body=b"order_id\n1\n")
    store = S3LandingStore(aws_env["ECOM_LANDING_URI"])
    files = store.list_files("orders", D1)
    assert [f.key for f in files] == ["orders/2025-01-01/a.csv", "orders/2025-01-01/sub/c.jsonl"]
    assert files[0].size == 11 and store.read_bytes(files[0]) == b"order_id\n1\n"
    before = files[0].fingerprint
    s3.put_object(Bucket="ecom-landing", Key="exports/orders/2025-01-01/a.csv", Body=b"order_id\n2\n")
    assert store.list_files("orders", D1)[0].fingerprint != before
    assert store.list_files("customers", D1) == []


def test_a_stream_is_uploaded_one_partition_a_day_and_a_failed_stream_publishes_nothing(lake):
    lake.write_partition("silver/events_clean", D2, day_table(D2, 1))
    batches = [day_table(D1, 3).to_batches()[0], day_table(D3, 2).to_batches()[0]]
    written = lake.write_batches(
        "silver/events_clean", [D1, D2, D3], pa.RecordBatchReader.from_batches(batches[0].schema, iter(batches))
    )
    assert [w.rows for w in written] == [3, 0, 2]
    assert keys("ecom-silver") == [f"events_clean/year=2025/month=01/day=0{d}/part-0.parquet" for d in (1, 2, 3)]
    assert lake.read_partition("silver/events_clean", D3).equals(as_stored(day_table(D3, 2)))
    assert lake.read_partition("silver/events_clean", D2).num_rows == 0  # replaced by the run's empty day

    def failing():
        yield day_table(D1, 7).to_batches()[0]
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError):
        lake.write_batches("silver/events_clean", [D1], pa.RecordBatchReader.from_batches(batches[0].schema, failing()))
    assert lake.read_partition("silver/events_clean", D1).num_rows == 3


LANDING_TREE = [
    "orders/2025-01-01/a.csv",  # an earlier day: its folder is not walked for a run of D2
    "orders/2025-01-01/notes.txt",
    "orders/2025-01-02/b.csv",
    "orders/2025-01-02/sub/c.jsonl",
    "orders/2025-01-02/_SUCCESS",  # hidden: never listed
    "orders/2025-13-01/x.csv",  # not a calendar day: always listed (and reported)
    "orders/loose.csv",  # outside a date folder
    "Orders/2025-01-02/y.csv",  # an entity in the wrong case
    "refunds/2025-01-01/r.csv",  # an unknown entity
    ".staging/orders/2025-01-02/z.csv",
]
RUN_OF_D2 = [
    "Orders/2025-01-02/y.csv",
    "orders/2025-01-02/b.csv",
    "orders/2025-01-02/sub/c.jsonl",
    "orders/2025-13-01/x.csv",
    "orders/loose.csv",
    "refunds/2025-01-01/r.csv",
]


def test_a_runs_landing_listing_walks_its_days_and_everything_that_is_no_day_locally_and_on_s3(aws_env, tmp_path):
    """The landing_unused_files check lists what a run can concern: its days' folders and every path that is
    no known entity's day, never the files of the other days (years of them after a while)."""
    from ecommerce_pipeline.storage.landing import LocalLandingStore

    s3 = boto3.client("s3")
    for key in LANDING_TREE:
        s3.put_object(Bucket="ecom-landing", Key=f"exports/{key}", Body=b"order_id\n1\n")
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(b"order_id\n1\n")
    for store in (S3LandingStore(aws_env["ECOM_LANDING_URI"]), LocalLandingStore(tmp_path)):
        assert store.list_keys([D2]) == RUN_OF_D2
        assert store.list_keys([D1, D2]) == sorted([*RUN_OF_D2, "orders/2025-01-01/a.csv", "orders/2025-01-01/notes.txt"])
        assert store.list_keys() == sorted(k for k in LANDING_TREE if "/_" not in k and not k.startswith("."))
