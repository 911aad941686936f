import json
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecommerce_pipeline.storage.lake import LocalLake, MemoryLake, split_by_day

D1, D2, D3 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)


@pytest.fixture(params=["local", "memory"])
def lake(request, tmp_path):
    return LocalLake(tmp_path) if request.param == "local" else MemoryLake()


def test_write_and_read_a_partition(lake):
    lake.write_partition("gold/t", D1, pa.table({"business_date": [D1], "x": [1]}))
    assert lake.read_partition("gold/t", D1).column("x").to_pylist() == [1]
    assert lake.read_partition("gold/t", D2) is None


def test_read_a_range_with_column_pruning_and_schema_growth(lake):
    lake.write_partition("gold/t", D1, pa.table({"business_date": [D1], "x": [1]}))
    lake.write_partition("gold/t", D3, pa.table({"business_date": [D3], "x": [3], "y": ["new"]}))
    table = lake.read_partitions("gold/t", [D1, D2, D3])
    assert table.column("x").to_pylist() == [1, 3] and table.column("y").to_pylist() == [None, "new"]
    assert lake.read_partitions("gold/t", [D1, D3], columns=["x", "missing"]).column_names == ["x"]


def test_rewriting_a_partition_replaces_it(lake):
    lake.write_partition("gold/t", D1, pa.table({"x": [1, 2]}))
    lake.write_partition("gold/t", D1, pa.table({"x": [9]}))
    assert lake.read_partition("gold/t", D1).column("x").to_pylist() == [9]


def test_local_layout_is_hive_style_snappy_and_leaves_no_temp_files(tmp_path):
    lake = LocalLake(tmp_path)
    stats = lake.write_partition("silver/orders_validated", D1, pa.table({"x": [1]}))
    path = tmp_path / "silver/orders_validated/year=2025/month=01/day=01/part-0.parquet"
    assert stats.location == str(path) and stats.bytes == path.stat().st_size
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "SNAPPY"
    assert [p.name for p in path.parent.iterdir()] == ["part-0.parquet"]


def test_split_by_day_refuses_rows_outside_the_run():
    table = pa.table({"business_date": pa.array([D1, D2], pa.date32()), "x": [1, 2]})
    parts = split_by_day(table, [D1, D2, D3])
    assert [parts[d].num_rows for d in (D1, D2, D3)] == [1, 1, 0]
    with pytest.raises(ValueError, match="outside the partitions"):
        split_by_day(table, [D1])


def test_a_range_mixing_plain_and_dictionary_encoded_partitions_reads_plain(lake):
    from ecommerce_pipeline.transforms.bronze import constant_column

    lake.write_partition("bronze/t", D1, pa.table({"business_date": [D1], "_source_file": ["old.csv"]}))
    lake.write_partition(
        "bronze/t", D2, pa.table({"business_date": [D2] * 2, "_source_file": constant_column("new.csv", 2)})
    )
    assert pa.types.is_dictionary(lake.read_partition("bronze/t", D2).schema.field("_source_file").type)
    both = lake.read_partitions("bronze/t", [D1, D2])
    assert both.schema.field("_source_file").type == pa.string()
    assert both.column("_source_file").to_pylist() == ["old.csv", "new.csv", "new.csv"]


def test_a_stream_of_batches_is_written_one_partition_a_day(lake):
    batches = [
        pa.record_batch({"business_date": [D1, D3], "x": [1, 3]}),
        pa.record_batch({"business_date": [D1], "x": [2]}),
    ]
    reader = pa.RecordBatchReader.from_batches(batches[0].schema, iter(batches))
    written = lake.write_batches("silver/t", [D1, D2, D3], reader)
    assert [w.rows for w in written] == [2, 0, 1]
    assert lake.read_partition("silver/t", D1).column("x").to_pylist() == [1, 2]
    assert lake.read_partition("silver/t", D2).num_rows == 0  # a day without rows still gets its partition
    assert lake.read_partition("silver/t", D3).column("x").to_pylist() == [3]


def test_a_stream_that_fails_midway_leaves_the_previous_partition(lake):
    lake.write_partition("silver/t", D1, pa.table({"business_date": [D1], "x": [0]}))
    schema = pa.schema([("business_date", pa.date32()), ("x", pa.int64())])

    def failing():
        yield pa.record_batch({"business_date": [D1], "x": [1]}, schema=schema)
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError, match="went away"):
        lake.write_batches("silver/t", [D1], pa.RecordBatchReader.from_batches(schema, failing()))
    assert lake.read_partition("silver/t", D1).column("x").to_pylist() == [0]
    if isinstance(lake, LocalLake):
        assert not list(lake.root.rglob("*.tmp"))


def test_a_partition_scan_reads_columns_or_batches_in_day_and_row_order(lake):
    from ecommerce_pipeline.storage.lake import PartitionScan
    from ecommerce_pipeline.transforms.bronze import constant_column

    lake.write_partition("bronze/t", D1, pa.table({"business_date": [D1] * 3, "x": [1, 2, 3], "f": ["a"] * 3}))
    lake.write_partition(
        "bronze/t", D3, pa.table({"business_date": [D3] * 2, "x": [4, 5], "f": constant_column("b", 2)})
    )
    scan = PartitionScan(lake, "bronze/t", [D1, D2, D3])
    assert scan.days == [D1, D3]
    assert scan.schema.field("f").type == pa.string()  # plain in one partition: plain for the scan
    assert scan.columns(["x"]).column("x").to_pylist() == [1, 2, 3, 4, 5]
    batches = list(scan.batches(2, ["x"]))
    assert max(b.num_rows for b in batches) <= 2
    assert [v for b in batches for v in b.column("x").to_pylist()] == [1, 2, 3, 4, 5]


def test_timestamps_are_written_in_milliseconds_for_athena(tmp_path):
    """Athena and Glue's ``timestamp`` promise millisecond precision: every writer stores TIMESTAMP(MILLIS)."""
    from datetime import UTC, datetime

    ts = pa.array([datetime(2025, 1, 1, 10, 0, 0, 123456, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    table = pa.table({"business_date": [D1], "event_ts": ts, "naive": ts.cast(pa.timestamp("us"))})
    lake = LocalLake(tmp_path)
    lake.write_partition("silver/t", D1, table)  # one table at once
    lake.write_batches("silver/s", [D1], pa.RecordBatchReader.from_batches(table.schema, table.to_batches()))
    for name in ("t", "s"):
        path = tmp_path / "silver" / name / "year=2025/month=01/day=01/part-0.parquet"
        parquet = pq.ParquetFile(path).schema  # the Parquet (not the Arrow) schema of the file
        for column in ("event_ts", "naive"):
            logical = parquet.column(parquet.names.index(column)).logical_type
            assert logical.type == "TIMESTAMP" and json.loads(logical.to_json())["timeUnit"] == "milliseconds"
        assert pq.read_schema(path).field("event_ts").type == pa.timestamp("ms", tz="UTC")
        # The sub-millisecond digits are dropped, the instant is otherwise the same.
        read = lake.read_partition(f"silver/{name}", D1)
        assert read.column("event_ts").to_pylist() == [datetime(2025, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)]
