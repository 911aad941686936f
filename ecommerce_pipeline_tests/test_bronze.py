import json
from datetime import UTC, date, datetime

import pyarrow as pa

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.ingest import parse_landing_file
from ecommerce_pipeline.transforms.bronze import validate_batch

from .conftest import DAY, NOW, csv_bytes


def run(entity, rows, name="f.csv", day=DAY):
    return validate_batch(ENTITIES[entity], [parse_landing_file(name, csv_bytes(rows))], day, "b", NOW)


def order(**overrides):
    row = {"order_id": "O1", "customer_id": "C1", "order_ts": "2025-01-01T10:00:00Z", "status": "delivered"}
    return {**row, **overrides}


def test_valid_rows_are_typed_and_carry_lineage():
    result = run("orders", [order(shipping_cost="4.5")])
    (row,) = result.valid.to_pylist()
    assert row["order_ts"] == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert row["shipping_cost"] == 4.5
    assert (row["_source_file"], row["_source_row"], row["_batch_id"]) == ("f.csv", 2, "b")
    assert row["business_date"] == DAY
    assert result.quarantine.num_rows == 0


def test_timestamps_without_offset_are_utc_and_offsets_are_honoured():
    result = run(
        "orders", [order(order_ts="2025-01-01 10:00:00"), order(order_id="O2", order_ts="2025-01-01T12:00:00+02:00")]
    )
    assert [r["order_ts"].hour for r in result.valid.to_pylist()] == [10, 10]


def test_each_broken_rule_is_named_with_file_and_row():
    result = run(
        "order_items",
        [
            {"order_id": "O1", "line_number": "1", "product_id": "P1", "quantity": "0", "unit_price": "5"},
            {"order_id": "O1", "line_number": "2", "product_id": "", "quantity": "1", "unit_price": "$5"},
            {"order_id": "O1", "line_number": "2.5", "product_id": "P1", "quantity": "1", "unit_price": "1,200.00"},
            {
                "order_id": "O1",
                "line_number": "3",
                "product_id": "P1",
                "quantity": "1",
                "unit_price": "5",
                "discount": "-1",
            },
        ],
    )
    assert result.valid.num_rows == 0
    q = {r["_source_row"]: r for r in result.quarantine.to_pylist()}
    assert q[2]["rule"] == "positive" and "quantity=0" in q[2]["detail"]
    assert q[3]["rule"] == "required" and "type: unit_price=$5 is not a number" in q[3]["detail"]
    assert q[4]["rule"] == "type" and "line_number=2.5" in q[4]["detail"] and "unit_price=1,200.00" in q[4]["detail"]
    assert q[5]["rule"] == "non_negative"
    assert all(r["_source_file"] == "f.csv" for r in q.values())
    assert json.loads(q[3]["raw_record"])["unit_price"] == "$5"


def test_unknown_event_types_and_implausible_timestamps_are_quarantined():
    base = {"event_id": "E1", "session_id": "S1", "event_type": "page_view", "event_ts": "2025-01-01T10:00:00Z"}
    result = run(
        "events",
        [
            base,
            {**base, "event_id": "E2", "event_type": "teleport"},
            {**base, "event_id": "E3", "event_ts": "2025-01-05T00:00:00Z"},
            {**base, "event_id": "E4", "event_ts": "1999-12-31T00:00:00Z"},
            {**base, "event_id": "E5", "event_ts": "2024-13-45T99:00:00"},
            {**base, "event_id": "E6", "event_type": "PAGE_VIEW"},
        ],
    )
    assert result.valid.column("event_id").to_pylist() == ["E1", "E6"]
    assert result.valid.column("event_type").to_pylist() == ["page_view", "page_view"]
    assert result.quarantine.column("rule").to_pylist() == [
        "one_of",
        "plausible_timestamp",
        "plausible_timestamp",
        "type",
    ]


def test_pii_values_are_not_echoed_in_the_detail():
    # An invalid date of birth only loses the value: the record stays, the issue is kept for field_issues.
    result = run("customers", [{"customer_id": "C1", "date_of_birth": "1980-02-30"}])
    assert result.quarantine.num_rows == 0
    (row,) = result.valid.to_pylist()
    (issue,) = json.loads(row["_field_issues"])
    assert row["date_of_birth"] is None and issue["rule"] == "type" and issue["raw_value"] == "1980-02-30"
    assert "1980-02-30" not in issue["detail"]


def test_extra_columns_are_kept_as_json_and_reported():
    result = run("orders", [order(coupon="WINTER", Channel="web")])
    assert json.loads(result.valid.column("_extra_columns")[0].as_py()) == {"coupon": "WINTER", "Channel": "web"}
    assert result.extra_columns == {"f.csv": ["coupon", "Channel"]}


def test_missing_required_column_quarantines_every_row_of_that_file_only():
    good = parse_landing_file("good.csv", csv_bytes([order()]))
    bad = parse_landing_file("bad.csv", csv_bytes([{"order_id": "O9", "status": "delivered"}] * 2))
    result = validate_batch(ENTITIES["orders"], [good, bad], DAY, "b", NOW)
    assert result.valid.column("order_id").to_pylist() == ["O1"]
    assert result.quarantine.column("rule").to_pylist() == ["missing_required_column"] * 2
    assert "customer_id, order_ts" in result.quarantine.column("detail")[0].as_py()
    assert result.landing_rows == 3


def test_parser_rejects_and_unparseable_files_join_the_quarantine():
    broken = parse_landing_file("broken.parquet", b"garbage")
    ragged = parse_landing_file("ragged.csv", b"order_id,customer_id,order_ts,status\nO1,C1\n")
    result = validate_batch(ENTITIES["orders"], [broken, ragged], DAY, "b", NOW)
    assert sorted(result.quarantine.column("rule").to_pylist()) == ["malformed_row", "unparseable_file"]
    assert result.landing_rows == 2


def test_no_files_gives_empty_tables_with_the_full_schema():
    result = validate_batch(ENTITIES["events"], [], date(2025, 1, 1), "b", NOW)
    assert result.valid.num_rows == 0
    assert "event_ts" in result.valid.column_names and "_source_row" in result.valid.column_names


def test_a_file_validated_in_chunks_gives_the_rows_of_the_whole_file():
    from ecommerce_pipeline.ingest import parse_landing_chunks

    rows = [order(order_id=f"O{i}", order_ts="2025-01-01T10:00:00Z" if i % 4 else "soon") for i in range(1, 12)]
    whole = run("orders", rows)
    chunked = validate_batch(
        ENTITIES["orders"], [parse_landing_chunks("f.csv", csv_bytes(rows), chunk_rows=2)], DAY, "b", NOW
    )
    assert chunked.valid.equals(whole.valid)
    assert chunked.quarantine.equals(whole.quarantine)
    assert chunked.quarantine.column("rule").to_pylist() == ["type"] * 2
    assert chunked.landing_rows_by_file == {"f.csv": 11}


def test_a_file_found_unreadable_after_some_chunks_goes_to_quarantine_whole():
    from ecommerce_pipeline.ingest import ParsedFile, parse_landing_chunks, parse_landing_file

    def chunks_then_failure():
        yield from parse_landing_chunks("f.csv", csv_bytes([order(), order(order_id="O2")]), chunk_rows=1)
        broken = parse_landing_file("f.parquet", b"garbage")  # the reject a parser failure produces
        yield ParsedFile("f.csv", broken.records, broken.rejects)

    kept = []
    result = validate_batch(
        ENTITIES["orders"],
        [chunks_then_failure(), parse_landing_file("g.csv", csv_bytes([order(order_id="O3")]))],
        DAY,
        "b",
        NOW,
        keep_unreadable=lambda name: kept.append(name) or f"quarantine/files/{name}",
    )
    assert result.valid.column("order_id").to_pylist() == ["O3"]
    assert result.quarantine.select(["_source_file", "_source_row", "rule"]).to_pylist() == [
        {"_source_file": "f.csv", "_source_row": 0, "rule": "unparseable_file"}
    ]
    assert json.loads(result.quarantine.column("raw_record")[0].as_py()) == {
        "quarantined_file": "quarantine/files/f.csv"
    }
    assert kept == ["f.csv"]
    assert result.landing_rows_by_file == {"f.csv": 1, "g.csv": 1}


def test_values_are_trimmed_of_spaces_and_unicode_spaces_exactly_like_duckdb_trim():
    from ecommerce_pipeline.transforms.bronze import trimmed_or_null
    from ecommerce_pipeline.transforms.sql import query

    values = ["a", " a ", "\u00a0a\u3000", "\ta\t", "é ", "é", "", "   ", "a b", " \u2003", None, "x" * 100 + " "]
    table = pa.table({"v": pa.array(values, pa.string())})
    fast = query(f"SELECT {trimmed_or_null('v')} AS v FROM t", t=table).column("v").to_pylist()
    plain = query("SELECT NULLIF(trim(v), '') AS v FROM t", t=table).column("v").to_pylist()
    assert fast == plain
    assert fast[:4] == ["a", "a", "a", "\ta\t"] and fast[6:8] == [None, None]


def test_days_validated_together_give_each_day_what_it_gives_alone(tmp_path):
    """Small days wait and are validated in one statement per header; every day's valid rows (in file order) and
    rejects must be those it has when validated on its own, whatever order the statement returns rows in."""
    from datetime import timedelta

    from ecommerce_pipeline.ingest import parse_landing
    from ecommerce_pipeline.storage.landing import LocalLandingStore
    from ecommerce_pipeline.tooling.generator import generate_store
    from ecommerce_pipeline.transforms.bronze import Validation

    first = date(2025, 3, 1)
    days = [first + timedelta(days=i) for i in range(12)]
    generate_store(tmp_path, days[0], days[-1], lines_per_day=300, seed=11, defect_rate=0.05)
    store = LocalLandingStore(tmp_path)

    def streams(entity, day):
        return [chunks for f in store.list_files(entity, day) for chunks in parse_landing(f.key, store.source(f))]

    quarantined = {}
    for entity in ("customers", "orders", "order_items", "events"):
        together = Validation(ENTITIES[entity], NOW)
        results = []
        for day in days:
            results += together.add_day(day, f"b{day}", streams(entity, day))
        results += together.finish()
        assert [day for day, _ in results] == days
        for day, result in results:
            alone = validate_batch(ENTITIES[entity], streams(entity, day), day, f"b{day}", NOW)
            assert result.valid.num_rows > 0
            assert result.valid.to_pylist() == alone.valid.to_pylist(), (entity, day)
            assert result.quarantine.equals(alone.quarantine), (entity, day)
            assert result.landing_rows_by_file == alone.landing_rows_by_file
            quarantined[entity] = quarantined.get(entity, 0) + result.quarantine.num_rows
    assert quarantined["orders"] and quarantined["order_items"] and quarantined["events"]  # defects reach both paths


def test_no_statement_reads_more_than_a_chunk_budget_and_the_days_are_unchanged(monkeypatch):
    """What waits is validated before a chunk would take it over the budget (CHUNK_ROWS), so one statement reads
    at most the budget or a single chunk, however the days' chunks fall; the days come out as on their own."""
    from ecommerce_pipeline.ingest import parse_landing
    from ecommerce_pipeline.transforms import bronze

    budget, statements = 100, []
    real = bronze._check_together

    def counted(con, entity, parts, ingested_at):
        statements.append([p.parsed.records.num_rows for p in parts])
        return real(con, entity, parts, ingested_at)

    monkeypatch.setattr(bronze, "CHUNK_ROWS", budget)
    monkeypatch.setattr(bronze, "_check_together", counted)
    days = [date(2025, 1, d) for d in range(1, 6)]

    def files(day):  # a 70-row file in chunks of 30 and a 45-row file whole, a day
        first = [order(order_id=f"{day:%d}-{i}", customer_id=f"C{i}") for i in range(70)]
        second = [order(order_id=f"{day:%d}-x{i}", order_ts=f"{day}T09:00:00Z") for i in range(45)]
        return [
            parse_landing("a.csv", csv_bytes(first), chunk_rows=30),
            parse_landing_file("b.csv", csv_bytes(second)),
        ]

    together = bronze.Validation(ENTITIES["orders"], NOW, day_batch_rows=1_000)
    results = []
    for day in days:
        results += together.add_day(day, "b", (c for f in files(day) for c in ([f] if hasattr(f, "name") else f)))
    results += together.finish()
    assert [d for d, _ in results] == days
    assert all(sum(rows) <= budget or len(rows) == 1 for rows in statements)
    assert len(statements) > len(days)  # the budget, not the day, cut the statements
    for day, result in results:
        alone = validate_batch(
            ENTITIES["orders"], [c for f in files(day) for c in ([f] if hasattr(f, "name") else f)], day, "b", NOW
        )
        assert result.valid.num_rows == 115
        assert result.valid.to_pylist() == alone.valid.to_pylist()
        assert result.quarantine.equals(alone.quarantine)


def test_rows_come_back_in_read_order_whether_in_blocks_or_scattered():
    """DuckDB hands a statement's rows back in blocks out of order; ``in_read_order`` puts them back as the file
    had them, the same rows as taking each by its place."""
    import numpy as np

    from ecommerce_pipeline.transforms.bronze import in_read_order

    rng = np.random.default_rng(5)
    n = 20_000
    blocks = np.split(np.arange(n), np.sort(rng.choice(np.arange(1, n), 40, replace=False)))
    shuffled = [blocks[i] for i in rng.permutation(len(blocks))]
    for positions in (np.concatenate(shuffled), rng.permutation(n), np.arange(n), np.arange(0)):
        table = pa.table({"p": positions, "s": [f"row {p}" for p in positions]})
        table = pa.concat_tables([table.slice(0, len(positions) // 3), table.slice(len(positions) // 3)])
        ordered = in_read_order(table, positions)
        assert ordered.equals(table.take(np.argsort(positions, kind="stable")))
        assert ordered.column("p").to_pylist() == sorted(positions.tolist())
