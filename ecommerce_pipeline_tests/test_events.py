from ecommerce_pipeline.transforms.events import events_clean

from .conftest import STORE, bronze


def test_events_are_deduplicated_and_numbered_within_sessions():
    result = events_clean(bronze("events", STORE["events"]))
    assert result.duplicates == 1
    rows = result.table.to_pylist()
    assert [(r["session_id"], r["event_seq"], r["event_id"]) for r in rows] == [
        ("S1", 1, "E1"),
        ("S1", 2, "E2"),
        ("S1", 3, "E3"),
        ("S1", 4, "E4"),
        ("S2", 1, "E5"),
        ("S2", 2, "E6"),
    ]
    assert rows[0]["device_type"] == "mobile" and rows[1]["device_type"] == "unknown"


def test_out_of_order_arrival_is_numbered_by_time():
    shuffled = [STORE["events"][2], STORE["events"][0], STORE["events"][5], STORE["events"][1]]
    rows = events_clean(bronze("events", shuffled)).table.to_pylist()
    assert {r["event_id"]: r["event_seq"] for r in rows} == {"E3": 3, "E1": 1, "E5": 1, "E2": 2}


def test_the_first_landed_copy_of_a_duplicate_is_kept():
    first = {**STORE["events"][0], "page_url": "/first"}
    second = {**STORE["events"][0], "page_url": "/second"}
    result = events_clean(bronze("events", [first, STORE["events"][1], second]))
    assert result.duplicates == 1
    assert [(r["event_id"], r["page_url"]) for r in result.table.to_pylist()] == [("E1", "/first"), ("E2", None)]


def test_the_streamed_table_is_the_table_and_columns_are_its_columns(monkeypatch):
    import pyarrow as pa

    from ecommerce_pipeline.transforms import events

    monkeypatch.setattr(events, "BATCH_ROWS", 2)  # several slices, some with a duplicate dropped
    result = events_clean(bronze("events", [*STORE["events"], STORE["events"][3], STORE["events"][0]]))
    assert result.duplicates == 3
    streamed = pa.Table.from_batches(list(result.stream()))
    assert streamed.equals(result.table) and streamed.num_rows == result.num_rows == 6
    assert result.columns(["event_id", "event_seq"]).equals(result.table.select(["event_id", "event_seq"]))
    assert result.head(3).equals(result.table.slice(0, 3))


def test_a_lazily_read_partition_range_gives_the_same_cleaned_table(tmp_path, monkeypatch):
    from datetime import timedelta

    import pyarrow as pa

    from ecommerce_pipeline.storage.lake import LocalLake, PartitionScan
    from ecommerce_pipeline.transforms import events

    monkeypatch.setattr(events, "BATCH_ROWS", 3)
    day1 = bronze("events", STORE["events"])
    day2_rows = [{**e, "event_id": e["event_id"] + "b"} for e in STORE["events"]]
    day2 = bronze("events", day2_rows, day=day1.column("business_date")[0].as_py() + timedelta(days=1))
    both = pa.concat_tables([day1, day2])
    lake = LocalLake(tmp_path)
    for day, part in (
        (d, both.filter(pa.compute.equal(both["business_date"], d))) for d in both["business_date"].unique().to_pylist()
    ):
        lake.write_partition("bronze/events", day, part)
    scan = PartitionScan(lake, "bronze/events", sorted(both["business_date"].unique().to_pylist()))
    from_table, from_scan = events_clean(both), events_clean(scan)
    assert from_scan.duplicates == from_table.duplicates == 2
    # The lake stores timestamps in milliseconds (what Athena reads); the values are the same.
    streamed = pa.Table.from_batches(list(from_scan.stream()))
    assert streamed.schema.field("event_ts").type == pa.timestamp("ms", tz="UTC")
    assert streamed.cast(from_table.table.schema).equals(from_table.table)


def test_missing_and_blank_devices_and_countries_get_defaults_and_sessions_are_counted():
    import pyarrow as pa

    from ecommerce_pipeline.transforms.events import _default

    column = pa.chunked_array([["Mobile", None, " tablet\t", ""], ["DESKTOP", None], []], pa.string())
    assert _default(column, "unknown", lower=True).to_pylist() == [
        "mobile", "unknown", "tablet", "unknown", "desktop", "unknown",
    ]  # fmt: skip
    result = events_clean(bronze("events", STORE["events"]))
    assert result.sessions == len({r["session_id"] for r in result.table.to_pylist()}) == 2
