"""The Iceberg table store: restatements by date, a stream that holds one file at a time, snapshot expiry that
deletes what no kept snapshot needs."""

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from ecommerce_pipeline.storage import tables
from ecommerce_pipeline.storage.tables import local_table_store, referenced_files

DAYS = [date(2025, 1, 1) + timedelta(d) for d in range(5)]


def _rows(day: date, n: int, amount: str = "1.10") -> pa.Table:
    return pa.table(
        {
            "business_date": pa.array([day] * n, pa.date32()),
            "order_id": pa.array([f"{day:%m%d}-{i}" for i in range(n)], pa.string()),
            "revenue": pa.array([Decimal(amount)] * n, pa.decimal128(18, 2)),
        }
    )


@pytest.fixture
def store(tmp_path):
    return local_table_store(tmp_path / "lake")


def test_a_restatement_replaces_exactly_its_dates(store):
    for i, day in enumerate(DAYS):
        store.restate("gold/t", "business_date", [day], _rows(day, i + 1))
    store.restate(
        "gold/t", "business_date", DAYS[1:3], pa.concat_tables([_rows(DAYS[1], 7, "2.00"), _rows(DAYS[2], 0)])
    )
    counts = {d: 0 for d in DAYS}
    for day in store.read("gold/t", ["business_date"]).column(0).to_pylist():
        counts[day] += 1
    assert counts == {DAYS[0]: 1, DAYS[1]: 7, DAYS[2]: 0, DAYS[3]: 4, DAYS[4]: 5}
    with pytest.raises(ValueError, match="outside the dates"):
        store.restate("gold/t", "business_date", [DAYS[0]], _rows(DAYS[4], 1))


def test_the_batch_stream_reads_every_current_row_once_one_file_at_a_time(store, monkeypatch):
    for i, day in enumerate(DAYS):
        store.restate("gold/t", "business_date", [day], _rows(day, 10 * (i + 1)))
    store.restate("gold/t", "business_date", [DAYS[0]], _rows(DAYS[0], 3, "9.99"))
    read_at_once = []
    original = tables.ArrowScan.to_record_batches

    def spy(self, tasks):
        tasks = list(tasks)
        read_at_once.append(len(tasks))
        return original(self, tasks)

    monkeypatch.setattr(tables.ArrowScan, "to_record_batches", spy)
    streamed = store.batches("gold/t", ["order_id", "revenue"]).read_all()
    assert read_at_once == [1] * len(store.files("gold/t"))
    assert streamed.schema.names == ["order_id", "revenue"]
    assert sorted(streamed.column("order_id").to_pylist()) == sorted(
        store.read("gold/t").column("order_id").to_pylist()
    )
    assert streamed.num_rows == 3 + 20 + 30 + 40 + 50
    assert sum(streamed.column("revenue").to_pylist()) == Decimal("29.97") + 140 * Decimal("1.10")
    assert store.batches("gold/absent", ["order_id"]) is None


def test_expired_snapshots_take_their_files_with_them(store, monkeypatch):
    monkeypatch.setattr(tables, "KEEP_SNAPSHOTS", 4)
    monkeypatch.setattr(tables, "EXPIRE_BATCH", 2)
    for run in range(12):
        store.restate("gold/t", "business_date", [DAYS[0]], _rows(DAYS[0], 5, f"{run}.00"))
    t = store.load("gold/t")
    assert len(t.snapshots()) <= 4 + 2
    on_disk = {str(p) for p in _folder(store).rglob("*.parquet")}
    assert on_disk <= referenced_files(t)
    assert store.read("gold/t", ["revenue"]).column(0).to_pylist() == [Decimal("11.00")] * 5


def _folder(store):
    from pathlib import Path
    from urllib.parse import urlparse

    return Path(urlparse(store.location("gold/t")).path)


def test_a_transactions_metadata_is_worked_out_once_per_state_and_follows_every_staged_update(store):
    """pyiceberg replays a transaction's updates onto a deep copy of the table's metadata at every read; the
    store keeps the result for the same state. A staged update (a new column, then rows that use it, in the
    same transaction) must still be seen at once, and what is committed must be what pyiceberg computes."""
    from pyiceberg.table.update import update_table_metadata
    from pyiceberg.types import StringType

    for day in DAYS:
        store.restate("gold/t", "business_date", [day], _rows(day, 2))
    t = store.load("gold/t")
    with t.transaction() as tx:
        first = tx.table_metadata
        assert tx.table_metadata is first  # the same state: not worked out again
        with tx.update_schema() as update:
            update.add_column("note", StringType())
        staged = tx.table_metadata
        assert staged is not first and "note" in staged.schema().column_names
        expected = update_table_metadata(t.metadata, tx._updates)
        assert staged.model_dump(exclude={"last_updated_ms"}) == expected.model_dump(exclude={"last_updated_ms"})
        tx.append(_rows(DAYS[0], 1).append_column("note", pa.array(["gift"], pa.string())))
    notes = store.read("gold/t", ["note"]).column("note").to_pylist()
    assert notes.count("gift") == 1 and len(notes) == 11


def test_a_large_restatement_is_written_in_slices_within_one_commit(store, monkeypatch):
    """Above WRITE_SLICE_BYTES a restatement goes in slices (pyiceberg copies what it is given twice): the rows
    are the same, the catalog sees one commit, and its current snapshot carries the commit's properties."""
    store.restate("gold/t", "business_date", DAYS[:2], pa.concat_tables([_rows(DAYS[0], 5), _rows(DAYS[1], 5)]))
    commits = len(store.load("gold/t").metadata.metadata_log)
    data = pa.concat_tables([_rows(DAYS[0], 400, "3.00"), _rows(DAYS[1], 300, "4.00")])
    monkeypatch.setattr(tables, "WRITE_SLICE_BYTES", data.nbytes // 5)
    assert len(tables.write_slices(data)) >= 5
    store.restate("gold/t", "business_date", DAYS[:2], data, properties={"ecommerce.test": "sliced"})
    t = store.load("gold/t")
    assert len(t.metadata.metadata_log) == commits + 1  # one catalog commit
    assert t.current_snapshot().summary["ecommerce.test"] == "sliced"
    assert len(store.files("gold/t")) >= 5  # a file per slice (and partition)
    stored = store.read("gold/t").sort_by([("order_id", "ascending")])
    assert stored.to_pylist() == data.sort_by([("order_id", "ascending")]).to_pylist()


def test_reading_some_dates_chooses_their_partitions_files_and_gives_what_the_filter_gives(store):
    """``read_dates`` picks the files of the dates' partitions itself (pyiceberg's ``In`` filter is slow over many
    dates); the rows are those the general filter reads, now and at an earlier snapshot, for any set of dates."""
    from pyiceberg.expressions import In

    for i, day in enumerate(DAYS):
        store.restate("gold/t", "business_date", [day], _rows(day, i + 2))
    before = store.snapshot_rows("gold/t")[0]
    store.restate(
        "gold/t", "business_date", DAYS[1:3], pa.concat_tables([_rows(DAYS[1], 9, "2.00"), _rows(DAYS[2], 0)])
    )
    store.restate("gold/t", "business_date", [DAYS[4]], _rows(DAYS[4], 1, "3.00"), also=None)

    def by_filter(dates, snapshot_id=None):
        return store.read("gold/t", None, In("business_date", dates), snapshot_id)

    def rows(table):
        return sorted(table.to_pylist(), key=lambda r: (r["business_date"], r["order_id"]))

    assert len(tables._partition_files(store.load("gold/t"), "business_date", DAYS[1:3], None)) >= 1  # its own way
    for dates in ([DAYS[1]], DAYS[1:3], DAYS, [DAYS[0], DAYS[4], date(2030, 1, 1)], [date(2030, 1, 1)]):
        now = store.read_dates("gold/t", "business_date", dates)
        assert now.schema == by_filter(dates).schema
        assert rows(now) == rows(by_filter(dates))
        then = store.read_dates("gold/t", "business_date", dates, snapshot_id=before)
        assert rows(then) == rows(by_filter(dates, before))
        some_columns = store.read_dates("gold/t", "business_date", dates, ["order_id"])
        assert some_columns.column_names == ["order_id"]
        assert sorted(some_columns.column(0).to_pylist()) == sorted(now.column("order_id").to_pylist())
    assert store.read_dates("gold/t", "business_date", DAYS[1:2]).column("revenue").to_pylist() == [Decimal("2.00")] * 9
    assert store.read_dates("gold/t", "business_date", DAYS).num_rows == 2 + 9 + 0 + 5 + 1


@pytest.mark.parametrize("column", ["business_date", "store"])
def test_rows_are_split_into_partitions_as_pyiceberg_splits_them(column):
    """The write splits rows into partitions by sorting once, not by a filter per partition: every partition
    gets the same rows in the same order as pyiceberg's own split, sorted or shuffled, with nulls, in chunks."""
    import random

    from pyiceberg.io import pyarrow as iceberg_arrow
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import IdentityTransform
    from pyiceberg.types import DateType, NestedField, StringType

    ours = iceberg_arrow._determine_partitions
    assert ours.by_sorting
    schema = Schema(
        NestedField(1, "business_date", DateType(), required=False),
        NestedField(2, "store", StringType(), required=False),
        NestedField(3, "id", StringType(), required=False),
    )
    source = schema.find_field(column).field_id
    spec = PartitionSpec(PartitionField(source_id=source, field_id=1000, transform=IdentityTransform(), name="p"))

    def split(how, table):
        parts = {}
        for part in how(spec=spec, schema=schema, arrow_table=table):
            key = tuple(v.value for v in part.partition_key.field_values)
            assert key not in parts
            parts[key] = part.arrow_table_partition.to_pylist()
        return parts

    rng = random.Random(7)
    days = [date(2025, 1, 1) + timedelta(rng.randrange(90)) for _ in range(300)]
    cases = {
        "sorted": sorted(days),
        "shuffled": days,
        "nulls last": sorted(days) + [None] * 3,
        "nulls inside": days[:100] + [None] + days[100:],
        "one row": days[:1],
        "one day": [days[0]] * 5,
        "empty": [],
    }
    for name, values in cases.items():
        table = pa.table(
            {
                "business_date": pa.array(values, pa.date32()),
                "store": [None if v is None else f"s{v.toordinal() % 7}" for v in values],
                "id": [str(i) for i in range(len(values))],
            }
        )
        chunked = pa.concat_tables([table.slice(0, len(values) // 3), table.slice(len(values) // 3)])
        for given in (table, chunked):
            assert split(ours, given) == split(ours.pyiceberg_split, given), (column, name)


def test_a_dates_rows_come_from_the_manifests_and_size_the_chunks_of_a_restatement(store):
    """``rows_of_dates`` counts each date's rows from the manifests, as reading them does (none for a date or a
    table without rows); ``date_chunks`` groups consecutive dates while their rows stay within CHUNK_ROWS."""
    import random

    from ecommerce_pipeline.defs import partitions
    from ecommerce_pipeline.defs.partitions import date_chunks

    for i, day in enumerate(DAYS):
        store.restate("gold/t", "business_date", [day], _rows(day, i * 3))
    store.restate("gold/t", "business_date", [DAYS[1]], _rows(DAYS[1], 2, "2.00"))  # a date replaced
    asked = [*DAYS, date(2030, 1, 1)]
    read = store.read("gold/t", ["business_date"]).column(0).to_pylist()
    assert store.rows_of_dates("gold/t", "business_date", asked) == {d: read.count(d) for d in asked}
    assert store.rows_of_dates("gold/none", "business_date", DAYS[:2]) == dict.fromkeys(DAYS[:2], 0)

    rng = random.Random(3)
    dates = {date(2025, 1, 1) + timedelta(d) for d in rng.sample(range(400), 200)}
    rows = {d: rng.choice([0, 10, 1_000, 90_000, 600_000]) for d in dates}
    chunks = date_chunks(dates, rows)
    assert [d for c in chunks for d in c] == sorted(dates)  # every date once, in order
    for chunk in chunks:
        assert len(chunk) == 1 or sum(rows[d] for d in chunk) <= partitions.CHUNK_ROWS
    for before, after in zip(chunks, chunks[1:]):  # a chunk ends only when the next date would not fit
        assert sum(rows[d] for d in before) + rows[after[0]] > partitions.CHUNK_ROWS
    assert date_chunks(dates, dict.fromkeys(dates, 10)) == [sorted(dates)]
    assert date_chunks(set(), {}) == [[]] and date_chunks(set()) == [[]]
    assert [len(c) for c in date_chunks(set(DAYS))] == [len(DAYS)]  # without rows: CHUNK_DATES dates a chunk


def test_a_metadata_file_is_parsed_once_and_every_commit_is_still_seen(store):
    """A table's metadata file is parsed once by the process (it is never rewritten), while each load still
    asks the catalog which file is current: a commit by another writer (another store on the same catalog)
    is seen at the next load, and the kept parse equals pyiceberg's own."""
    from pyiceberg.serializers import FromInputFile

    store.restate("gold/t", "business_date", DAYS[:1], _rows(DAYS[0], 2))
    first, again = store.load("gold/t"), store.load("gold/t")
    assert first.metadata is again.metadata
    own = FromInputFile.table_metadata.parse(first.io.new_input(first.metadata_location))
    assert own is not first.metadata and own == first.metadata

    other_writer = local_table_store(store.roots["gold"].removeprefix("file://").rsplit("/", 1)[0])
    other_writer.restate("gold/t", "business_date", DAYS[1:2], _rows(DAYS[1], 3))
    latest = store.load("gold/t")
    assert latest.metadata_location != first.metadata_location
    assert len(latest.snapshots()) == len(first.snapshots()) + 1
    assert store.read("gold/t", ["business_date"]).num_rows == 5


def _entry(e) -> tuple:
    f = e.data_file
    return (
        e.status,
        e.snapshot_id,
        e.sequence_number,
        e.file_sequence_number,
        f.file_path,
        f.partition,
        f.record_count,
    )


def test_manifests_are_decoded_once_and_give_what_pyiceberg_reads(store, monkeypatch):
    """A snapshot's manifest list and a manifest's entries are decoded once by the process (the files are never
    rewritten) and give what pyiceberg decodes from the files, deleted entries left out where it leaves them out;
    a commit by another writer is seen at the next plan, and the rows read are the table's."""
    from pyiceberg import manifest
    from pyiceberg.avro.file import AvroFile

    from ecommerce_pipeline.storage.kept_metadata import forget_kept_metadata

    for i, day in enumerate(DAYS[:3]):
        store.restate("gold/t", "business_date", [day], _rows(day, i + 1))
    store.restate("gold/t", "business_date", DAYS[:2], pa.concat_tables([_rows(DAYS[0], 4), _rows(DAYS[1], 0)]))
    forget_kept_metadata()
    decoded, comparing, enter = [], [], AvroFile.__enter__

    def counted(self):
        if not comparing:  # pyiceberg's own reads, made below to compare, are not counted
            decoded.append(self.input_file.location)
        return enter(self)

    monkeypatch.setattr(AvroFile, "__enter__", counted)
    pyiceberg_fetch = manifest.ManifestFile.fetch_manifest_entry.fetch

    def plan_twice():
        first = sorted(store.files("gold/t"))
        t = store.load("gold/t")
        manifests = t.current_snapshot().manifests(t.io)
        # The current list and manifests were each decoded, once, by now; the second plan decodes nothing.
        assert {t.current_snapshot().manifest_list, *(m.manifest_path for m in manifests)} <= set(decoded)
        assert len(decoded) == len(set(decoded)), "decoded again"
        planned = len(decoded)
        assert sorted(store.files("gold/t")) == first and len(decoded) == planned, "decoded again"
        # Every kept snapshot's manifests, those of the deletes included (an overwrite is a delete, then an add).
        every = {m.manifest_path: m for s in t.snapshots() for m in s.manifests(t.io)}.values()
        comparing.append(True)
        for m in every:
            for discard in (True, False):
                kept = [_entry(e) for e in m.fetch_manifest_entry(t.io, discard_deleted=discard)]
                assert kept == [_entry(e) for e in pyiceberg_fetch(m, t.io, discard_deleted=discard)], (m, discard)
        comparing.clear()
        return {e.status for m in every for e in m.fetch_manifest_entry(t.io, discard_deleted=False)}

    assert manifest.ManifestEntryStatus.DELETED in plan_twice()  # the comparison saw deleted entries
    other_writer = local_table_store(store.roots["gold"].removeprefix("file://").rsplit("/", 1)[0])
    other_writer.restate("gold/t", "business_date", DAYS[3:4], _rows(DAYS[3], 5))
    plan_twice()
    counts = {d: 0 for d in DAYS[:4]}
    for day in store.read("gold/t", ["business_date"]).column(0).to_pylist():
        counts[day] += 1
    assert counts == {DAYS[0]: 4, DAYS[1]: 0, DAYS[2]: 3, DAYS[3]: 5}


def test_what_is_kept_stays_within_its_bound_least_recently_used_out_first():
    """The kept manifests are bounded by their entries: the least recently used go first, and one manifest
    larger than the bound is still kept (a plan needs it) until another comes."""
    from ecommerce_pipeline.storage.kept_metadata import _Kept

    kept = _Kept(5, weight=len)
    kept.put("a", (1, 2))
    kept.put("b", (1, 2))
    assert kept.get("a") == (1, 2)  # "a" is now the most recently used
    kept.put("c", (1, 2))
    assert kept.get("b") is None and kept.get("a") == (1, 2) and kept.get("c") == (1, 2) and kept.held == 4
    kept.put("big", tuple(range(9)))
    assert list(kept.values) == ["big"] and kept.held == 9
    kept.put("d", (1,))
    assert list(kept.values) == ["d"] and kept.held == 1
    kept.clear()
    assert kept.get("d") is None and kept.held == 0
