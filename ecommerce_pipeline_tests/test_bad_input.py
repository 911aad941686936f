"""Bad input, table-driven: each case lands one bad file next to the hand-made store and runs bronze and
silver through Dagster on a real local lake. Every case must leave the run green, every row of the bad
file in bronze or in quarantine (with its file, row and rule), and every conservation check passing.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ecommerce_pipeline.defs.bronze.assets import bronze_assets
from ecommerce_pipeline.defs.resources import resources_for
from ecommerce_pipeline.defs.silver.assets import silver_assets
from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.lake import LocalLake
from ecommerce_pipeline.storage.tables import local_table_store
from ecommerce_pipeline.transforms.events import counted

from .conftest import DAY, STORE, csv_bytes

ORDER = {"order_id": "O10", "customer_id": "C1", "order_ts": "2025-01-01T10:00:00Z", "status": "delivered"}
LINE = {"order_id": "O1", "line_number": "9", "product_id": "P1", "quantity": "1", "unit_price": "100"}
EVENT = {"event_id": "E10", "session_id": "S9", "event_type": "page_view", "event_ts": "2025-01-01T08:00:00Z"}


def rows_csv(*rows: dict) -> bytes:
    return csv_bytes(list(rows))


def parquet_bytes(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def jsonl(*rows: dict) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


@dataclass
class Case:
    """One bad file: where it lands, how many of its rows reach bronze and which rules quarantine the rest."""

    entity: str
    name: str
    data: bytes
    bronze_rows: int
    rules: dict[str, int] = field(default_factory=dict)
    silver_rules: dict[str, int] = field(default_factory=dict)  # rules expected in silver quarantine for the file
    silver_rows: tuple[str, int] | None = None  # a silver table's row count for the day, after deduplication
    field_issues: dict[str, int] = field(default_factory=dict)  # values nulled in silver, record kept
    unused_paths: int = 0  # landing paths reported by the landing_unused_files check


CASES = {
    "truncated_csv_line": Case(
        "orders", "late.csv", rows_csv(ORDER)[:-1] + b"\nO11,C1,2025-01-0", 1, {"malformed_row": 1}
    ),
    "unterminated_quote": Case(
        "orders", "late.csv", rows_csv(ORDER) + b'O11,C1,"2025-01-01T10:00:00Z,delivered\n', 1, {"malformed_row": 1}
    ),
    "semicolon_delimiter_is_detected": Case(
        "customers", "crm.csv", b"customer_id;email;country\nC7;c7@example.com;US\n", 1
    ),
    "rows_with_another_delimiter_than_the_header": Case(
        "orders", "late.csv", b"order_id,customer_id,order_ts,status\nO10;C1;2025-01-01T10:00:00Z;delivered\n", 0,
        {"malformed_row": 1},
    ),
    "missing_required_column": Case(
        "orders", "late.csv", rows_csv(*({k: v for k, v in ORDER.items() if k != "status"} for _ in range(2))), 0,
        {"missing_required_column": 2},
    ),
    "extra_unknown_column": Case("orders", "late.csv", rows_csv({**ORDER, "coupon": "WINTER"}), 1),
    "hostile_column_name": Case(
        "orders", "late.csv", rows_csv({**ORDER, 'x" VARCHAR); DROP TABLE file_records; --': "1"}), 1
    ),
    "wrong_types": Case(
        "order_items", "more.csv",
        rows_csv({**LINE, "quantity": "two"}, {**LINE, "line_number": "1.5"}, {**LINE, "line_number": "8", "unit_price": "abc"}), 0,
        {"type": 3},
    ),
    "currency_symbols_and_thousands_separators": Case(
        "order_items", "more.csv",
        rows_csv({**LINE, "unit_price": "$100"}, {**LINE, "line_number": "8", "unit_price": "1,000.00"},
                 {**LINE, "line_number": "7", "unit_price": "R$ 12,50"}), 0,
        {"type": 3},
    ),
    "negative_and_zero_amounts": Case(
        "order_items", "more.csv",
        rows_csv({**LINE, "unit_price": "-5"}, {**LINE, "line_number": "8", "quantity": "0"},
                 {**LINE, "line_number": "7", "discount": "-1"}), 0,
        {"positive": 2, "non_negative": 1},
    ),
    "future_and_very_old_timestamps": Case(
        "orders", "late.csv",
        rows_csv({**ORDER, "order_ts": "2031-01-01T00:00:00Z"}, {**ORDER, "order_id": "O11", "order_ts": "1970-01-01T00:00:00Z"}), 0,
        {"plausible_timestamp": 2},
    ),
    # An optional field only loses its value: the three customers stay, two birth dates are field issues.
    "future_and_very_old_birth_dates": Case(
        "customers", "crm.csv",
        rows_csv({"customer_id": "C7", "date_of_birth": "2030-05-01"}, {"customer_id": "C8", "date_of_birth": "1850-05-01"},
                 {"customer_id": "C9", "date_of_birth": "1990-05-01"}), 3,
        field_issues={"past_date": 2},
    ),
    "timestamps_with_and_without_offsets": Case(
        "orders", "late.csv",
        rows_csv({**ORDER, "order_ts": "2025-01-01T10:00:00+05:30"}, {**ORDER, "order_id": "O11", "order_ts": "2025-01-01 10:00:00"},
                 {**ORDER, "order_id": "O12", "order_ts": "2025-01-01T10:00:00Z"}), 3,
    ),  # orders without lines are status-only versions, not quarantined
    "non_utf8_bytes": Case(
        "customers", "crm.csv", "customer_id,city\nC7,S\xe3o Paulo\nC8,Lisbon\n".encode("latin-1"), 1,
        {"invalid_utf8": 1},
    ),
    "byte_order_mark": Case("products", "catalog.csv", b"\xef\xbb\xbf" + rows_csv({"product_id": "P7", "base_price": "3"}), 1),
    "empty_file": Case("orders", "late.csv", b"", 0),
    "header_only_file": Case("orders", "late.csv", b"order_id,customer_id,order_ts,status\n", 0),
    "invalid_json_line": Case(
        "events", "clicks.jsonl", jsonl(EVENT) + b'{"event_id": "E11", "session_id": \n' + jsonl({**EVENT, "event_id": "E12"}), 2,
        {"malformed_row": 1},
    ),
    "json_line_that_is_not_an_object": Case("events", "clicks.jsonl", jsonl(EVENT) + b"[1, 2]\n", 1, {"malformed_row": 1}),
    "corrupt_parquet": Case("orders", "late.parquet", b"PAR1 this is not really parquet", 0, {"unparseable_file": 1}),
    "parquet_cut_in_half": Case(
        "events", "clicks.parquet", parquet_bytes([EVENT] * 50)[:300], 0, {"unparseable_file": 1}
    ),
    # Quarantined whole, and listed by the landing_unused_files check as a path the pipeline cannot read.
    "unsupported_file_type": Case(
        "orders", "late.xlsx", b"PK\x03\x04 spreadsheet", 0, {"unparseable_file": 1}, unused_paths=1
    ),
    # The store's 7 events hold one duplicate: 6 distinct, plus E10 once however often it is repeated (every
    # copy is kept, flagged; the counted events are 7).
    "duplicate_rows": Case("events", "clicks.csv", rows_csv(EVENT, EVENT, EVENT), 3, silver_rows=("events_clean", 7)),
    # The store's orders yield 7 current lines; a second delivery of the same file adds versions, not lines.
    "same_file_delivered_twice": Case(
        "orders", "orders_resent.csv", csv_bytes(STORE["orders"]), 6, silver_rows=("orders_validated", 7)
    ),
    "null_keys": Case(
        "orders", "late.csv", rows_csv({**ORDER, "order_id": ""}, {**ORDER, "order_id": "O11", "customer_id": "  "}), 0,
        {"required": 2},
    ),
    # Unknown customers and products are not quarantined: the order keeps its revenue (region 'unknown',
    # category 'uncategorized') and gets its dimension when the record arrives.
    "orphan_foreign_keys": Case(
        "orders", "late.csv", rows_csv({**ORDER, "customer_id": "C404"}), 1, silver_rows=("orders_validated", 7)
    ),
    "orphan_product_on_a_line": Case(
        "order_items", "more.csv", rows_csv({**LINE, "product_id": "P404"}), 1, silver_rows=("orders_validated", 8)
    ),
    "discount_above_the_line_amount": Case(
        "order_items", "more.csv", rows_csv({**LINE, "discount": "500"}), 1, silver_rules={"discount_exceeds_amount": 1}
    ),
    "unknown_event_type": Case(
        "events", "clicks.csv", rows_csv({**EVENT, "event_type": "teleport"}, {**EVENT, "event_id": "E11"}), 1,
        {"one_of": 1},
    ),
    "oversized_field": Case(
        "products", "catalog.csv",
        rows_csv({"product_id": "P7", "product_name": "x" * 50_000}, {"product_id": "P8", "product_name": "ok"}), 1,
        {"oversized_field": 1},
    ),
}  # fmt: skip


def materialize_bronze_and_silver() -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*bronze_assets, *silver_assets],
        partition_key=DAY.isoformat(),
        resources=resources_for(load_settings()),
        raise_on_error=False,
    )


def land(case: Case, landing: Path) -> str:
    """Write the case's file beside the store's files; returns its landing key."""
    (landing / case.entity / DAY.isoformat() / case.name).write_bytes(case.data)
    return f"{case.entity}/{DAY.isoformat()}/{case.name}"


def bronze_rows_of(case: Case, project_env: Path, landing: Path) -> list[dict]:
    """Land the case, run bronze and silver, and return the case file's rows in bronze."""
    key = land(case, landing)
    assert materialize_bronze_and_silver().success
    return of_file(LocalLake(project_env / "lake").read_partition(f"bronze/{case.entity}", DAY), key).to_pylist()


def of_file(table: pa.Table | None, key: str) -> pa.Table:
    if table is None:
        return pa.table({"_source_file": pa.array([], pa.string())})
    return table.filter(pc.equal(table.column("_source_file"), key))


def count_rules(table: pa.Table) -> dict[str, int]:
    counts: dict[str, int] = {}
    for rule in table.column("rule").to_pylist() if "rule" in table.column_names else []:
        counts[rule] = counts.get(rule, 0) + 1
    return counts


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_file_is_accounted_for_and_the_day_goes_on(case: Case, project_env: Path, store_landing: Path):
    key = land(case, store_landing)
    result = materialize_bronze_and_silver()

    assert result.success
    checks = result.get_asset_check_evaluations()
    unused = [c for c in checks if c.check_name == "landing_unused_files"]
    checks = [c for c in checks if c.check_name != "landing_unused_files"]
    assert checks and all(c.passed for c in checks), [(c.asset_key, c.check_name) for c in checks if not c.passed]
    assert sum(c.metadata["unused_paths"].value for c in unused) == case.unused_paths
    conservation = [c for c in checks if "conservation" in c.check_name]
    # One evaluation per check for the run (5 bronze, 5 silver), and each check's own for the day's partition.
    assert len([c for c in conservation if c.partition is None]) == 10
    assert len([c for c in conservation if c.partition == DAY.isoformat()]) == 10
    assert all(c.metadata["unaccounted_rows"].value == 0 for c in conservation)

    lake = LocalLake(project_env / "lake")
    bronze = of_file(lake.read_partition(f"bronze/{case.entity}", DAY), key)
    quarantine = of_file(lake.read_partition(f"quarantine/bronze_{case.entity}", DAY), key)
    assert bronze.num_rows == case.bronze_rows
    assert count_rules(quarantine) == case.rules
    # Every quarantined row names its file, its row and the rule, with a detail a person can act on.
    for row in quarantine.to_pylist():
        assert row["_source_file"] == key and row["_source_row"] is not None
        assert row["rule"] and row["detail"]
    # The other files of the day went through untouched.
    store_orders = of_file(lake.read_partition("bronze/orders", DAY), f"orders/{DAY.isoformat()}/orders.csv")
    assert store_orders.num_rows == len(STORE["orders"])

    assert count_rules(of_file(lake.read_partition("quarantine/field_issues", DAY), key)) == case.field_issues

    if case.silver_rows:
        table, rows = case.silver_rows
        stored = local_table_store(project_env / "lake").read(f"silver/{table}")
        if "is_duplicate" in stored.column_names:
            stored = counted(stored)
        assert stored.num_rows == rows

    silver_rules: dict[str, int] = {}
    for t in ("silver_orders", "silver_order_items", "silver_customers"):
        for rule, n in count_rules(of_file(lake.read_partition(f"quarantine/{t}", DAY), key)).items():
            silver_rules[rule] = silver_rules.get(rule, 0) + n
    assert silver_rules == case.silver_rules


def test_an_unreadable_file_is_kept_whole_in_quarantine(project_env: Path, store_landing: Path):
    case = CASES["corrupt_parquet"]
    assert bronze_rows_of(case, project_env, store_landing) == []
    quarantine = LocalLake(project_env / "lake").read_partition("quarantine/bronze_orders", DAY)
    (row,) = of_file(quarantine, f"orders/{DAY.isoformat()}/{case.name}").to_pylist()
    assert row["_source_row"] == 0 and "magic bytes" in row["detail"]
    kept = Path(json.loads(row["raw_record"])["quarantined_file"])
    assert kept == project_env / "lake" / "quarantine" / "files" / "orders" / DAY.isoformat() / "late.parquet"
    assert kept.read_bytes() == case.data


def test_timestamps_without_an_offset_are_utc(project_env: Path, store_landing: Path):
    rows = bronze_rows_of(CASES["timestamps_with_and_without_offsets"], project_env, store_landing)
    stamps = {r["order_id"]: r["order_ts"].isoformat() for r in rows}
    assert stamps == {
        "O10": "2025-01-01T04:30:00+00:00",
        "O11": "2025-01-01T10:00:00+00:00",
        "O12": "2025-01-01T10:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("case", "extra"),
    [("extra_unknown_column", "coupon"), ("hostile_column_name", 'x" VARCHAR); DROP TABLE file_records; --')],
)
def test_an_extra_column_is_kept_as_json_in_bronze(case: str, extra: str, project_env: Path, store_landing: Path):
    rows = bronze_rows_of(CASES[case], project_env, store_landing)
    assert [json.loads(r["_extra_columns"]) for r in rows] == [{extra: "WINTER" if extra == "coupon" else "1"}]


def test_an_unreadable_file_is_kept_whole_on_s3(tmp_path: Path):
    import boto3

    from ecommerce_pipeline.defs.resources import aws_resources
    from ecommerce_pipeline_tests.conftest import mocked_aws

    case = CASES["corrupt_parquet"]
    with mocked_aws(tmp_path) as env:
        bucket, _, prefix = env["ECOM_LANDING_URI"][len("s3://") :].partition("/")
        s3 = boto3.Session(region_name=env["AWS_REGION"]).client("s3")
        s3.put_object(Bucket=bucket, Key=f"{prefix}/orders/{DAY}/{case.name}", Body=case.data)
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                [a for a in bronze_assets if a.node_def.name == "bronze_orders"],
                resources=aws_resources(),
                partition_key=DAY.isoformat(),
                instance=instance,
            )
        assert result.success
        from ecommerce_pipeline.storage.s3_io_manager import S3Locations

        # Bronze writes each day straight into the lake the IO manager reads.
        (row,) = S3Locations().lake().read_partition("quarantine/bronze_orders", DAY).to_pylist()
        kept = json.loads(row["raw_record"])["quarantined_file"]
        assert kept == f"{env['ECOM_BRONZE_URI'].rstrip('/')}/quarantine/files/orders/{DAY}/{case.name}"
        kept_bucket, _, kept_key = kept[len("s3://") :].partition("/")
        assert s3.get_object(Bucket=kept_bucket, Key=kept_key)["Body"].read() == case.data


def test_days_without_files_are_named_in_one_warning_per_run(project_env: Path, store_landing: Path):
    """A run over days of which some brought no orders file warns once, naming those days, not once a day (a
    year's backfill of a store without click events logged 361 lines); a day with files is not named."""
    from datetime import timedelta

    days = [DAY + timedelta(d) for d in range(3)]
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [a for a in bronze_assets if a.node_def.name == "bronze_orders"],
            resources=resources_for(),
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": str(days[0]),
                "dagster/asset_partition_range_end": str(days[-1]),
            },
        )
        assert result.success
        warnings = [
            e.user_message
            for e in instance.all_logs(result.run_id)
            if e.level == logging.WARNING and "files landed" in e.user_message
        ]
    assert warnings == [f"no orders files landed for 2 days: {days[1]}, {days[2]}"]
