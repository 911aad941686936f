"""The S3 lake reads by byte ranges, measured on the moto server: every object GET it answers is noted by the
server itself (``S3ReadMeter``), whichever client sent it."""

import time
from datetime import date

import boto3
import pyarrow as pa
import pytest

from ecommerce_pipeline.ops.local_aws import ObjectRead, lake_traffic, stored_objects
from ecommerce_pipeline.storage.aws import session
from ecommerce_pipeline.storage.lake import PartitionScan, day_chunks
from ecommerce_pipeline.storage.s3_lake import SMALL_OBJECT, S3Lake, layer_uris

from .conftest import metered_server

D1, D2 = date(2025, 1, 1), date(2025, 1, 2)
TABLE = "bronze/orders"


@pytest.fixture
def lake_of(aws_env):
    """A new lake object, as the IO manager makes for each input of a step."""
    uris = layer_uris(aws_env["ECOM_BRONZE_URI"], aws_env["ECOM_SILVER_URI"], aws_env["ECOM_GOLD_URI"])
    return lambda: S3Lake(uris, session(aws_env["AWS_REGION"]))


def orders(day: date, n: int) -> pa.Table:
    """Several columns of different widths, so a few of them are a small part of the file."""
    return pa.table(
        {
            "business_date": pa.array([day] * n, pa.date32()),
            "order_id": pa.array([f"o-{i:08d}" for i in range(n)]),
            "status": pa.array(["delivered", "shipped", "cancelled"] * (n // 3) + ["delivered"] * (n % 3)),
            "amount": pa.array([i * 1.37 for i in range(n)], pa.float64()),
            "address": pa.array(
                [f"{i} long street name, apartment {i * 7 % 1000}, some city {i % 97}" for i in range(n)]
            ),
            "note": pa.array([f"customer note number {i} " * 3 for i in range(n)]),
        }
    )


def span(read: ObjectRead, size: int) -> tuple[int, int]:
    """The bytes [first, last] a GET asked for."""
    if read.range is None:
        return 0, size - 1
    first, _, last = read.range.removeprefix("bytes=").partition("-")
    return int(first), min(int(last), size - 1)


def fetched_twice(reads: list[ObjectRead], size: int) -> int:
    """How many of an object's bytes the ``reads`` fetched more than once."""
    marks = bytearray(size)
    twice = 0
    for first, last in (span(r, size) for r in reads):
        twice += sum(1 for b in marks[first : last + 1] if b)
        marks[first : last + 1] = b"\x01" * (last - first + 1)
    return twice


def reset_meter() -> None:
    """Forget the reads noted so far, once the server has noted them all (it notes a GET once it has sent the
    last byte, which may be after the client has it all)."""
    meter, noted = metered_server().meter, -1
    while len(meter.reads()) != noted:
        noted = len(meter.reads())
        time.sleep(0.05)
    meter.reset()


def object_reads(key: str) -> list[ObjectRead]:
    return [r for r in metered_server().meter.reads() if r.key == key]


def stored(lake: S3Lake, day: date) -> tuple[str, int]:
    (uri,) = [u for d, u in lake.partition_files(TABLE) if d == day]
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return f"{bucket}/{key}", boto3.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"]


def scan_as_a_step_does(lake: S3Lake, days: list[date]) -> int:
    """What a silver step does with its lazy input (``defs/silver/assets.py``): the scan (each day's schema),
    the chunking (row counts), each chunk's rows, and the conservation check's row counts. Returns the rows."""
    scan = PartitionScan(lake, TABLE, days)
    rows = sum(scan.of_days(chunk).num_rows for chunk in day_chunks([scan], scan.days, 10_000_000))
    assert {d: scan.lake.partition_rows(scan.table, d) for d in scan.days}
    return rows


def test_a_streamed_scan_fetches_row_groups_and_projected_columns(lake_of):
    lake_of().write_partition(TABLE, D1, orders(D1, 60_000))
    key, size = stored(lake_of(), D1)
    metered_server().meter.reset()

    scan = PartitionScan(lake_of(), TABLE, [D1])
    assert sum(b.num_rows for b in scan.batches(10_000, ["order_id", "amount"])) == 60_000

    fetched = sum(r.bytes for r in object_reads(key))
    assert fetched < size / 2


def test_a_projected_read_fetches_only_the_columns_asked_for(lake_of):
    lake_of().write_partition(TABLE, D1, orders(D1, 60_000))
    key, size = stored(lake_of(), D1)
    assert size > 10 * SMALL_OBJECT
    metered_server().meter.reset()

    data = lake_of().read_partitions(TABLE, [D1], ["order_id", "amount", "not_there"])

    assert data.column_names == ["order_id", "amount"] and data.num_rows == 60_000
    reads = object_reads(key)
    fetched = sum(r.bytes for r in reads)
    assert fetched == sum(last - first + 1 for first, last in (span(r, size) for r in reads))
    assert fetched < size / 2, f"{fetched} of {size} bytes for two of six columns"
    assert all(span(r, size) != (0, size - 1) for r in reads)
    print(f"\nprojected read: {fetched} of {size} bytes in {len(reads)} GETs")


def test_a_steps_scan_fetches_each_object_whole_at_most_once(lake_of):
    writer = lake_of()
    writer.write_partition(TABLE, D1, orders(D1, 60_000))  # large: footer and column chunks by ranges
    writer.write_partition(TABLE, D2, orders(D2, 50))  # small: the footer read would fetch it whole anyway
    (large, large_size), (small, small_size) = stored(writer, D1), stored(writer, D2)
    metered_server().meter.reset()

    assert scan_as_a_step_does(lake_of(), [D1, D2]) == 60_050

    large_reads, small_reads = object_reads(large), object_reads(small)
    covering = [r for r in large_reads if span(r, large_size) == (0, large_size - 1)]
    assert len(covering) <= 1
    # The file's last 64 KiB once (the footer, and the column chunks in them), then the other column chunks once.
    fetched = sum(r.bytes for r in large_reads)
    assert fetched_twice(large_reads, large_size) == 0 and fetched <= large_size
    assert [r.bytes for r in small_reads] == [small_size]
    traffic = lake_traffic(metered_server().meter.reads(), writer.layers.values())
    assert traffic.bytes_read == fetched + small_size and traffic.bytes_stored == large_size + small_size
    assert (traffic.gets, traffic.objects_read, traffic.objects_stored) == (len(large_reads) + 1, 2, 2)
    print(
        f"\nstep scan: large object {fetched} bytes for {large_size} stored in {len(large_reads)} GETs "
        f"({len(covering)} of them whole); small object {len(small_reads)} GET of {small_size} bytes; "
        f"{traffic.summary()}"
    )


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("rows", [2_000, 6_000, 60_000])
def test_a_steps_scan_fetches_no_byte_of_a_bronze_file_twice(lake_of, rows, streamed):
    """A step's reads of its lazy input (schema, row counts, the rows: by chunks of days, or streamed in batches),
    on files just over the footer read (whose last 64 KiB are mostly column data) and larger: each byte of the
    file fetched once, the footer included."""
    lake_of().write_partition(TABLE, D1, orders(D1, rows))
    key, size = stored(lake_of(), D1)
    assert size > SMALL_OBJECT
    reset_meter()

    lake = lake_of()
    if streamed:
        scan = PartitionScan(lake, TABLE, [D1])
        assert lake.partition_rows(TABLE, D1) == rows
        assert sum(b.num_rows for b in scan.batches(1_000)) == rows
    else:
        assert scan_as_a_step_does(lake, [D1]) == rows

    reads = object_reads(key)
    assert fetched_twice(reads, size) == 0, [r.range for r in reads]
    assert sum(r.bytes for r in reads) <= size


def test_a_replaced_object_is_read_anew(lake_of):
    lake = lake_of()
    lake_of().write_partition(TABLE, D1, orders(D1, 10))
    assert lake.partition_rows(TABLE, D1) == 10
    lake_of().write_partition(TABLE, D1, orders(D1, 12))
    assert lake.partition_rows(TABLE, D1) == 12 and lake.read_partition(TABLE, D1).num_rows == 12


def test_an_iceberg_read_of_a_few_columns_fetches_only_those(aws_env):
    """Silver and gold read through pyiceberg's own FileIO (pyarrow's S3 filesystem), projected by
    ``selected_fields``: the footer, then the chunks of the columns asked for."""
    import io

    import pyarrow.parquet as pq

    from ecommerce_pipeline.defs.resources import GlueTablesResource

    store = GlueTablesResource().store()
    store.replace("silver/orders_validated", orders(D1, 60_000), "business_date")
    (data_file,) = store.files("silver/orders_validated")
    bucket, _, name = data_file.removeprefix("s3://").partition("/")
    body = boto3.client("s3").get_object(Bucket=bucket, Key=name)["Body"].read()
    chunks = {
        c.path_in_schema: c
        for c in (pq.ParquetFile(io.BytesIO(body)).metadata.row_group(0).column(i) for i in range(6))
    }
    reset_meter()

    data = store.read("silver/orders_validated", ["order_id", "amount"])

    assert data.column_names == ["order_id", "amount"] and data.num_rows == 60_000
    reads = object_reads(f"{bucket}/{name}")
    fetched = sum(r.bytes for r in reads)
    wanted = chunks["order_id"].total_compressed_size + chunks["amount"].total_compressed_size
    # The footer read (the last 64 KiB) and the wanted chunks, coalesced with small gaps between them.
    assert fetched <= wanted + SMALL_OBJECT + 8 * 1024 < len(body)
    column_reads = [span(r, len(body)) for r in reads if span(r, len(body))[1] != len(body) - 1]  # not the footer's
    for skipped in ("address", "note"):
        first = chunks[skipped].data_page_offset
        assert not any(start <= first <= end for start, end in column_reads), skipped
    print(f"\niceberg projected read: {fetched} of {len(body)} bytes in {len(reads)} GETs")


def test_iceberg_files_are_fetched_once_however_often_a_table_is_loaded(aws_env):
    """A step loads a table many times (its rows, its snapshot, its files, a second read): the metadata JSON,
    manifest list and manifests are immutable and fetched once, a data file's footer (its last 64 KiB) once; only
    the column chunks read again are fetched again. A commit in between is seen."""
    from ecommerce_pipeline.defs.resources import GlueTablesResource
    from ecommerce_pipeline.storage.kept_io import KEPT
    from ecommerce_pipeline.storage.kept_metadata import forget_kept_metadata

    store = GlueTablesResource().store()
    table = "silver/orders_validated"
    store.replace(table, orders(D1, 60_000), "business_date")
    reset_meter()
    KEPT.clear()  # as a new process would start: no file's bytes kept, no metadata file's parse
    forget_kept_metadata()

    for _ in range(2):
        assert store.read(table, ["order_id", "amount"]).num_rows == 60_000
        assert store.snapshot_rows(table)[1] == 60_000 and len(store.files(table)) == 1
        assert store.read(table).num_rows == 60_000

    reads, sizes = metered_server().meter.reads(), stored_objects([aws_env["ECOM_SILVER_URI"]])
    read = {r.key for r in reads}
    assert read <= set(sizes) and any(k.endswith(".metadata.json") for k in read) and any(".avro" in k for k in read)
    for key in read:
        mine = [r for r in reads if r.key == key]
        if key.endswith(".parquet"):
            # The last 64 KiB in one GET; the column chunks in them never fetched again.
            tail_start = sizes[key] - SMALL_OBJECT
            assert [span(r, sizes[key]) for r in mine if span(r, sizes[key])[1] >= tail_start] == [
                (tail_start, sizes[key] - 1)
            ], (key, [r.range for r in mine])
        else:
            assert fetched_twice(mine, sizes[key]) == 0, (key, [r.range for r in mine])

    store.replace(table, orders(D2, 10), "business_date")  # a commit: the next load sees it
    assert store.read(table, ["order_id"]).num_rows == 10
