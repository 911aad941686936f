"""Real exports as they come (issue 11): compressed, archived and Excel files, exact ids, field-level quality,
nothing skipped silently, bounds instead of crashes.

One landing store holds the hand-made store plus one file (or folder) per case; every layer runs once through
Dagster on a real local lake and DuckDB catalog (a module fixture), and each named test checks its own case:
every row of its file is in bronze or in quarantine exactly once (row accounting per file), nothing is doubled
or invented, and the figures downstream equal an independent computation.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ecommerce_pipeline.defs.bronze.assets import bronze_assets
from ecommerce_pipeline.defs.catalog.assets import duckdb_catalog
from ecommerce_pipeline.defs.gold.assets import gold_assets
from ecommerce_pipeline.defs.resources import resources_for
from ecommerce_pipeline.defs.silver.assets import silver_assets
from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.lake import LocalLake
from ecommerce_pipeline.storage.tables import local_table_store

from .conftest import DAY, STORE, csv_bytes

D = DAY.isoformat()
ORDER = {"customer_id": "C1", "order_ts": "2025-01-01T10:00:00Z", "status": "delivered"}
LINE = {"line_number": "1", "product_id": "P1", "quantity": "1", "unit_price": "10"}
EVENT = {"session_id": "S50", "event_type": "page_view", "event_ts": "2025-01-01T08:00:00Z"}


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


def jsonl(*rows: dict) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)


def zip_of(members: dict[str, bytes]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return sink.getvalue()


def parquet_of(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


# Every file below lands beside the hand-made store; keys are relative to the landing root.
FILES: dict[str, bytes] = {
    # Compression: gzip of CSV and of JSON Lines.
    f"orders/{D}/gz_orders.csv.gz": gz(csv_bytes([{**ORDER, "order_id": "GZ1"}, {**ORDER, "order_id": "GZ2"}])),
    f"order_items/{D}/gz_lines.jsonl.gz": gz(jsonl({**LINE, "order_id": "GZ1"}, {**LINE, "order_id": "GZ2"})),
    # A zip archive: every member is a file of its own; hidden members are skipped like hidden files.
    f"events/{D}/export.zip": zip_of(
        {
            "a.csv": csv_bytes([{**EVENT, "event_id": "ZA1"}, {**EVENT, "event_id": "ZA2"}]),
            "sub/b.jsonl": jsonl({**EVENT, "event_id": "ZB1"}),
            "c.csv.gz": gz(csv_bytes([{**EVENT, "event_id": "ZC1"}])),
            "__MACOSX/._a.csv": b"\x00\x05\x16\x07 resource fork",
            "notes.xlsx": b"PK\x03\x04 spreadsheet",
        }
    ),
    # Excel "Unicode text": UTF-16 LE with a BOM, tab separated.
    f"customers/{D}/excel_unicode.txt": "customer_id\tcity\tcountry\r\nU1\tSão Paulo\tBR\r\nU2\tZürich\tCH\r\n".encode(
        "utf-16"
    ),
    f"customers/{D}/excel_utf16be.txt": b"\xfe\xff" + "customer_id\tcity\nU3\tKraków\n".encode("utf-16-be"),
    # Excel's separator hint on the first line.
    f"products/{D}/excel_sep.csv": b"sep=;\nproduct_id;product_name;base_price\nP30;Lamp;12.50\nP31;Desk;1_299.00\n",
    # A .json file holding one array of objects (and one element that is not an object).
    f"orders/{D}/api.json": json.dumps([{**ORDER, "order_id": "JA1"}, {**ORDER, "order_id": "JA2"}, [1, 2]]).encode(),
    f"order_items/{D}/api_lines.json": json.dumps(
        [{**LINE, "order_id": "JA1"}, {**LINE, "order_id": "JA2", "unit_price": 12.5}]
    ).encode(),
    # JSON numbers as ids: 2**64 - 15 and its neighbour must stay two events.
    f"events/{D}/big_ids.jsonl": b'{"event_id": 18446744073709551601, "session_id": 7, "event_type": "page_view",'
    b' "event_ts": "2025-01-01T09:00:00Z"}\n'
    b'{"event_id": 18446744073709551602, "session_id": 7, "event_type": "page_view", "event_ts": "2025-01-01T09:01:00Z"}\n',
    # A numeric customer id written 9001.0 in one file and 9001 in another is one customer.
    f"customers/{D}/numeric_ids.jsonl": b'{"customer_id": 9001.0, "country": "US"}\n',
    f"customers/{D}/numeric_ids.parquet": parquet_of(pa.table({"customer_id": pa.array([9002], pa.int64())})),
    f"orders/{D}/numeric_ids.csv": csv_bytes(
        [{**ORDER, "order_id": "N1", "customer_id": "9001"}, {**ORDER, "order_id": "N2", "customer_id": "9002"}]
    ),
    f"order_items/{D}/numeric_ids.csv": csv_bytes([{**LINE, "order_id": "N1"}, {**LINE, "order_id": "N2"}]),
    # Keys with a tab, a non-breaking space, an em space around them match their customer.
    f"customers/{D}/hc.csv": csv_bytes(
        [
            {"customer_id": "HC1", "phone": "12", "email": "a..b@x.com"},  # both invalid: values nulled, HC1 stays
            {"customer_id": "HC2", "phone": "+44 (0)20 7946 0958", "email": ".a@x.com"},
            {"customer_id": "HC3", "phone": "212-555-0100 ext. 12", "email": "ann@exämple.com"},
        ]
    ),
    f"orders/{D}/hc.csv": csv_bytes(
        [
            {**ORDER, "order_id": "HO1", "customer_id": "HC1\t"},
            {**ORDER, "order_id": "HO2", "customer_id": "\u00a0HC1"},
            {**ORDER, "order_id": "HO3", "customer_id": "HC1\u2003"},
            {**ORDER, "order_id": "HO4", "customer_id": "HC2"},
        ]
    ),
    f"order_items/{D}/hc.csv": csv_bytes(
        [
            {**LINE, "order_id": "HO1", "unit_price": "10.00"},
            {**LINE, "order_id": "HO2", "unit_price": "10.00"},
            {**LINE, "order_id": "HO3", "unit_price": "10.00"},
            {**LINE, "order_id": "HO4", "unit_price": "10.00"},
        ]
    ),
    # Folders a user expects to be skipped.
    f"orders/{D}/.staging/hidden.csv": csv_bytes([{**ORDER, "order_id": "HIDDEN1"}]),
    f"orders/{D}/_temporary/0/part-0.csv": csv_bytes([{**ORDER, "order_id": "HIDDEN2"}]),
    # Paths that cannot be used: reported, never silently skipped.
    f"Orders/{D}/orders.csv": csv_bytes([{**ORDER, "order_id": "UNUSED1"}]),
    "orders/2025-1-1/orders.csv": csv_bytes([{**ORDER, "order_id": "UNUSED2"}]),
    "orders/2025-02-30/orders.csv": csv_bytes([{**ORDER, "order_id": "UNUSED3"}]),
    "orders/2025-01-01.csv": csv_bytes([{**ORDER, "order_id": "UNUSED4"}]),
    f"refunds/{D}/refunds.csv": b"refund_id\nR1\n",
    f"orders/{D}/orders.xlsx": b"PK\x03\x04 spreadsheet",
    # Two unreadable files with the same name in different folders.
    f"orders/{D}/region=eu/part-00000.csv.gz": b"\x1f\x8b not really gzip (eu)",
    f"orders/{D}/region=us/part-00000.csv.gz": b"\x1f\x8b not really gzip (us)",
    # Duplicate header names, compared case-insensitively.
    f"orders/{D}/dup_header.csv": b"order_id,customer_id,order_ts,status,Status\nDH1,C1,2025-01-01T10:00:00Z,delivered,x\n",
    # Bounds and money.
    f"order_items/{D}/bounds.csv": csv_bytes(
        [
            {**LINE, "order_id": "B1", "quantity": "9000000000000000000"},
            {**LINE, "order_id": "B1", "line_number": "2", "unit_price": "2000000000"},
            {**LINE, "order_id": "B1", "line_number": "1000000"},
            {**LINE, "order_id": "B1", "line_number": "3", "unit_price": "1.005"},
            {**LINE, "order_id": "B1", "line_number": "4", "unit_price": "1_299.00"},
            {**LINE, "order_id": "B2", "unit_price": "12.5000"},
        ]
    ),
    f"orders/{D}/bounds.csv": csv_bytes([{**ORDER, "order_id": "B1"}, {**ORDER, "order_id": "B2"}]),
    # One order id sent for two customers in one day.
    f"orders/{D}/reused_id.csv": csv_bytes(
        [{**ORDER, "order_id": "RU1"}, {**ORDER, "order_id": "RU1", "customer_id": "C2", "status": "shipped"}]
    ),
    f"order_items/{D}/reused_id.csv": csv_bytes([{**LINE, "order_id": "RU1"}]),
    # Three currencies in one day: 100 USD, 100 EUR and 15,000 JPY are never one total.
    f"orders/{D}/currencies.csv": csv_bytes(
        [
            {**ORDER, "order_id": "FX1", "currency": "USD"},
            {**ORDER, "order_id": "FX2", "currency": "eur"},
            {**ORDER, "order_id": "FX3", "currency": "JPY"},
        ]
    ),
    f"order_items/{D}/currencies.csv": csv_bytes(
        [
            {**LINE, "order_id": "FX1", "unit_price": "100"},
            {**LINE, "order_id": "FX2", "unit_price": "100"},
            {**LINE, "order_id": "FX3", "unit_price": "15000"},
        ]
    ),
}


@dataclass
class Lakehouse:
    root: Path
    result: dg.ExecuteInProcessResult

    @property
    def lake(self) -> LocalLake:
        return LocalLake(self.root / "lake")

    def table(self, name: str) -> pa.Table:
        """A lake table's rows of the day: bronze and quarantine are daily Parquet, silver and gold Iceberg tables
        (whose rows here are all of the one day)."""
        if name.startswith(("silver/", "gold/")):
            return local_table_store(self.root / "lake").read(name)
        return self.lake.read_partition(name, DAY)

    def of_file(self, name: str, key: str) -> pa.Table:
        table = self.table(name)
        return table.filter(pc.equal(table.column("_source_file").cast(pa.string()), key))

    def accounted(self, entity: str, key: str) -> tuple[int, dict[str, int]]:
        """Rows of the file in bronze, and its quarantined rows by rule."""
        quarantine = self.of_file(f"quarantine/bronze_{entity}", key).column("rule").to_pylist()
        return self.of_file(f"bronze/{entity}", key).num_rows, {r: quarantine.count(r) for r in set(quarantine)}

    def checks(self, name: str) -> list:
        return [c for c in self.result.get_asset_check_evaluations() if c.check_name == name]

    def sql(self, query: str) -> list[tuple]:
        with duckdb.connect(str(self.root / "lake" / "catalog.duckdb"), read_only=True) as con:
            return con.execute(query).fetchall()


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Lakehouse:
    root = tmp_path_factory.mktemp("real_exports")
    landing = root / "landing"
    for entity, rows in STORE.items():
        path = landing / entity / D / f"{entity}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(csv_bytes(rows))
    for key, data in FILES.items():
        (landing / key).parent.mkdir(parents=True, exist_ok=True)
        (landing / key).write_bytes(data)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ECOM_LANDING_DIR", str(landing))
        env.setenv("ECOM_LAKE_DIR", str(root / "lake"))
        env.setenv("ECOM_CATALOG_PATH", str(root / "lake" / "catalog.duckdb"))
        env.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        (root / "dagster_home").mkdir()
        result = dg.materialize(
            [*bronze_assets, *silver_assets, *gold_assets, duckdb_catalog],
            partition_key=D,
            resources=resources_for(load_settings()),
            raise_on_error=False,
        )
    return Lakehouse(root, result)


def test_the_run_is_green_and_every_conservation_check_holds(run: Lakehouse):
    assert run.result.success
    evaluations = run.result.get_asset_check_evaluations()
    blocking = [c for c in evaluations if c.check_name != "landing_unused_files"]
    assert blocking and all(c.passed for c in blocking), [(c.asset_key, c.check_name) for c in blocking if not c.passed]
    for check in (c for c in evaluations if "conservation" in c.check_name):
        assert check.metadata["unaccounted_rows"].value == 0


def test_gzip_files_are_read_as_the_format_inside(run: Lakehouse):
    assert run.accounted("orders", f"orders/{D}/gz_orders.csv.gz") == (2, {})
    lines = run.of_file("bronze/order_items", f"order_items/{D}/gz_lines.jsonl.gz")
    assert sorted(lines.column("order_id").to_pylist()) == ["GZ1", "GZ2"]
    assert lines.column("_source_row").to_pylist() == [1, 2]


def test_every_zip_member_is_its_own_file(run: Lakehouse):
    archive = f"events/{D}/export.zip"
    assert run.accounted("events", f"{archive}!a.csv") == (2, {})
    assert run.accounted("events", f"{archive}!sub/b.jsonl") == (1, {})
    assert run.accounted("events", f"{archive}!c.csv.gz") == (1, {})
    # The unsupported member is quarantined whole, as the member's own bytes, under its own name.
    assert run.accounted("events", f"{archive}!notes.xlsx") == (0, {"unparseable_file": 1})
    (row,) = run.of_file("quarantine/bronze_events", f"{archive}!notes.xlsx").to_pylist()
    assert Path(json.loads(row["raw_record"])["quarantined_file"]).read_bytes() == b"PK\x03\x04 spreadsheet"
    # The hidden member is no file at all.
    assert not any("__MACOSX" in f for f in run.table("bronze/events").column("_source_file").to_pylist())
    events = run.table("silver/events_clean").column("event_id").to_pylist()
    assert {"ZA1", "ZA2", "ZB1", "ZC1"} <= set(events)


def test_excel_unicode_text_utf16_with_bom_is_read(run: Lakehouse):
    rows = run.of_file("bronze/customers", f"customers/{D}/excel_unicode.txt").to_pylist()
    assert [(r["customer_id"], r["city"], r["country"], r["_source_row"]) for r in rows] == [
        ("U1", "São Paulo", "BR", 2),
        ("U2", "Zürich", "CH", 3),
    ]
    (be,) = run.of_file("bronze/customers", f"customers/{D}/excel_utf16be.txt").to_pylist()
    assert (be["customer_id"], be["city"]) == ("U3", "Kraków")


def test_excel_separator_line_sets_the_delimiter(run: Lakehouse):
    key = f"products/{D}/excel_sep.csv"
    assert run.accounted("products", key) == (1, {"type": 1})
    (row,) = run.of_file("bronze/products", key).to_pylist()
    assert (row["product_id"], row["base_price"], row["_source_row"]) == ("P30", Decimal("12.50"), 3)
    (bad,) = run.of_file("quarantine/bronze_products", key).to_pylist()
    assert bad["_source_row"] == 4 and "base_price=1_299.00 is not a number" in bad["detail"]


def test_a_json_array_file_is_one_record_per_element(run: Lakehouse):
    key = f"orders/{D}/api.json"
    assert run.accounted("orders", key) == (2, {"malformed_row": 1})
    assert run.of_file("bronze/orders", key).column("_source_row").to_pylist() == [1, 2]
    assert run.of_file("quarantine/bronze_orders", key).column("_source_row").to_pylist() == [3]
    lines = run.of_file("bronze/order_items", f"order_items/{D}/api_lines.json")
    assert lines.column("unit_price").to_pylist() == [Decimal("10.00"), Decimal("12.50")]


def test_json_numeric_ids_keep_their_digits(run: Lakehouse):
    key = f"events/{D}/big_ids.jsonl"
    assert run.accounted("events", key) == (2, {})
    ids = run.of_file("bronze/events", key).column("event_id").to_pylist()
    assert ids == ["18446744073709551601", "18446744073709551602"]
    silver = set(run.table("silver/events_clean").column("event_id").to_pylist())
    assert set(ids) <= silver  # two events, not one and a duplicate


def test_an_id_written_9001_point_0_is_the_customer_9001(run: Lakehouse):
    customers = set(run.table("silver/customers_clean").column("customer_id").to_pylist())
    assert {"9001", "9002"} <= customers  # 9001.0 from JSON, 9002 from a Parquet int64 column
    orders = run.table("silver/orders_validated")
    assert sorted(
        pc.filter(orders.column("customer_id"), pc.is_in(orders.column("order_id"), pa.array(["N1", "N2"]))).to_pylist()
    ) == ["9001", "9002"]


def test_keys_are_trimmed_of_unicode_whitespace(run: Lakehouse):
    rows = run.of_file("bronze/orders", f"orders/{D}/hc.csv").to_pylist()
    assert [r["customer_id"] for r in rows] == ["HC1", "HC1", "HC1", "HC2"]
    quarantined = run.table("quarantine/silver_orders").column("raw_record").to_pylist()
    assert not [q for q in quarantined if "HC" in q]
    # Unknown customers are kept with customer_known false: the trimmed keys must find their customer.
    hc = [o for o in run.table("silver/orders_validated").to_pylist() if o["order_id"].startswith("HO")]
    assert sorted((o["order_id"], o["customer_id"], o["customer_known"]) for o in hc) == [
        ("HO1", "HC1", True), ("HO2", "HC1", True), ("HO3", "HC1", True), ("HO4", "HC2", True),
    ]  # fmt: skip


def test_an_invalid_phone_or_email_costs_the_value_never_the_revenue(run: Lakehouse):
    customers = {r["customer_id"]: r for r in run.table("silver/customers_clean").to_pylist()}
    assert (customers["HC1"]["phone"], customers["HC1"]["email"]) == (None, None)
    assert (customers["HC2"]["phone"], customers["HC2"]["email"]) == ("+442079460958", None)
    assert (customers["HC3"]["phone"], customers["HC3"]["email"]) == ("+12125550100", "ann@exämple.com")
    assert run.table("quarantine/silver_customers").num_rows == 0
    # Every HC order and its revenue survive: 4 orders x 10.00, computed independently of the pipeline.
    orders = run.table("silver/orders_validated").to_pylist()
    hc = [o for o in orders if o["order_id"].startswith("HO")]
    assert sorted(o["order_id"] for o in hc) == ["HO1", "HO2", "HO3", "HO4"]
    assert sum(o["line_revenue"] for o in hc) == Decimal("40.00")


def test_field_issues_name_entity_key_column_raw_value_rule_file_and_row(run: Lakehouse):
    issues = run.of_file("quarantine/field_issues", f"customers/{D}/hc.csv").to_pylist()
    got = sorted((i["entity_key"], i["column_name"], i["raw_value"], i["rule"], i["_source_row"]) for i in issues)
    assert got == [
        ("HC1", "email", "a..b@x.com", "invalid_email", 2),
        ("HC1", "phone", "12", "invalid_phone", 2),
        ("HC2", "email", ".a@x.com", "invalid_email", 3),
        ("HC3", "phone", "212-555-0100 ext. 12", "phone_extension_removed", 4),
    ]
    assert {i["entity"] for i in issues} == {"customers"}
    # The store's own invalid e-mail (C3) is a field issue too, and C3 is a customer.
    store_issues = run.of_file("quarantine/field_issues", f"customers/{D}/customers.csv").to_pylist()
    assert [(i["entity_key"], i["rule"]) for i in store_issues] == [("C3", "invalid_email")]


def test_field_issues_are_in_the_catalog_and_the_data_quality_view(run: Lakehouse):
    (count,) = run.sql("SELECT count(*) FROM quarantine.field_issues")[0]
    assert count == run.table("quarantine/field_issues").num_rows
    rows = run.sql(
        "SELECT rule, quarantined_rows FROM analytics.data_quality_summary WHERE quarantine_table = 'field_issues' ORDER BY rule"
    )
    assert rows == [("invalid_email", 3), ("invalid_phone", 1), ("phone_extension_removed", 1)]


def test_hidden_folders_are_ignored_like_hidden_files(run: Lakehouse):
    files = set(run.table("bronze/orders").column("_source_file").to_pylist())
    files |= set(run.table("quarantine/bronze_orders").column("_source_file").to_pylist())
    assert not [f for f in files if ".staging" in f or "_temporary" in f]
    unused = run.checks("landing_unused_files")
    assert not any(".staging" in c.metadata["paths"].value or "_temporary" in c.metadata["paths"].value for c in unused)


def test_unused_landing_paths_are_listed_in_a_warning_check(run: Lakehouse):
    (orders,) = [c for c in run.checks("landing_unused_files") if c.asset_key == dg.AssetKey(["bronze", "orders"])]
    assert not orders.passed and orders.severity == dg.AssetCheckSeverity.WARN
    listing = orders.metadata["paths"].value
    for path in (
        f"Orders/{D}/orders.csv",
        "orders/2025-1-1/orders.csv",
        "orders/2025-02-30/orders.csv",
        "orders/2025-01-01.csv",
        f"refunds/{D}/refunds.csv",
        f"orders/{D}/orders.xlsx",
    ):
        assert f"`{path}`" in listing
    assert orders.metadata["unused_paths"].value == 6
    # The unknown entity concerns every bronze asset; an orders path only the orders one.
    (events,) = [c for c in run.checks("landing_unused_files") if c.asset_key == dg.AssetKey(["bronze", "events"])]
    assert events.metadata["unused_paths"].value == 1 and "refunds" in events.metadata["paths"].value
    # None of the unused files' rows reached bronze.
    ids = set(run.table("bronze/orders").column("order_id").to_pylist())
    assert not {"UNUSED1", "UNUSED2", "UNUSED3", "UNUSED4"} & ids


def test_unreadable_files_of_the_same_name_in_two_folders_are_both_kept(run: Lakehouse):
    kept = {}
    for region in ("eu", "us"):
        key = f"orders/{D}/region={region}/part-00000.csv.gz"
        assert run.accounted("orders", key) == (0, {"unparseable_file": 1})
        (row,) = run.of_file("quarantine/bronze_orders", key).to_pylist()
        kept[region] = Path(json.loads(row["raw_record"])["quarantined_file"])
    assert kept["eu"] != kept["us"]
    assert kept["eu"].read_bytes() == FILES[f"orders/{D}/region=eu/part-00000.csv.gz"]
    assert kept["us"].read_bytes() == FILES[f"orders/{D}/region=us/part-00000.csv.gz"]


def test_duplicate_header_names_reject_the_file_naming_both(run: Lakehouse):
    key = f"orders/{D}/dup_header.csv"
    assert run.accounted("orders", key) == (0, {"duplicate_column": 1})
    (row,) = run.of_file("quarantine/bronze_orders", key).to_pylist()
    assert "'status' and 'Status'" in row["detail"]


def test_bounds_and_money_precision_are_quarantined_not_crashed(run: Lakehouse):
    key = f"order_items/{D}/bounds.csv"
    assert run.accounted("order_items", key) == (1, {"upper_bound": 3, "money_precision": 1, "type": 1})
    details = run.of_file("quarantine/bronze_order_items", key).column("detail").to_pylist()
    assert any("quantity=9000000000000000000 is above the plausible maximum 1,000,000" in d for d in details)
    assert any("unit_price=1_299.00 is not a number" in d for d in details)
    (kept,) = run.of_file("bronze/order_items", key).to_pylist()
    assert kept["unit_price"] == Decimal("12.50")
    assert run.table("bronze/order_items").schema.field("unit_price").type == pa.decimal128(18, 2)


def test_gold_revenue_equals_an_independent_computation(run: Lakehouse):
    """Revenue orders of the day, summed by hand from the landing files that must count, per currency."""
    # conftest.STORE: O2 cancelled; O4 (unknown customer) and O5 (a line of an unknown product) keep their revenue.
    store = {"O1": 100 * 1 - 10 + 20 * 2, "O3": 20 * 3, "O4": 20, "O5": 5 + 100}
    # B1's every line broke a bound or the money rule: it has no line, so no revenue. RU1 is held back.
    added = {"GZ1": 10, "GZ2": 10, "JA1": 10, "JA2": Decimal("12.50"), "N1": 10, "N2": 10, "B2": Decimal("12.50")}
    added |= {f"HO{i}": 10 for i in range(1, 5)} | {"FX1": 100}
    usd = Decimal(sum(store.values())) + sum(Decimal(v) for v in added.values())
    by_currency = run.sql("SELECT currency, sum(total_revenue) FROM gold.daily_sales_summary GROUP BY 1 ORDER BY 1")
    assert [(c, Decimal(str(t))) for c, t in by_currency] == [("EUR", 100), ("JPY", 15000), ("USD", usd)]


def test_revenue_is_never_summed_across_currencies(run: Lakehouse):
    fx = [o for o in run.table("silver/orders_validated").to_pylist() if o["order_id"].startswith("FX")]
    assert sorted((o["order_id"], o["currency"], o["line_revenue"]) for o in fx) == [
        ("FX1", "USD", Decimal("100.00")), ("FX2", "EUR", Decimal("100.00")), ("FX3", "JPY", Decimal("15000.00")),
    ]  # fmt: skip
    # Every gold table that carries money keeps the currency as a dimension: C1 and P1 have a row per currency.
    clv = run.sql("SELECT currency, total_orders, total_spent FROM gold.customer_lifetime_value WHERE customer_id = 'C1'")
    by_currency = {c: (n, Decimal(str(t))) for c, n, t in clv}
    assert len(clv) == 3 and sorted(by_currency) == ["EUR", "JPY", "USD"]
    assert (by_currency["EUR"], by_currency["JPY"]) == ((1, 100), (1, 15000))
    products = run.sql("SELECT currency, revenue FROM gold.product_performance WHERE product_id = 'P1' ORDER BY 1")
    assert [c for c, _ in products] == ["EUR", "JPY", "USD"]
    assert [Decimal(str(r)) for c, r in products if c != "USD"] == [100, 15000]


def test_an_order_id_reused_by_another_customer_the_same_day_is_held_back(run: Lakehouse):
    key = f"orders/{D}/reused_id.csv"
    assert run.accounted("orders", key) == (2, {})  # both versions reach bronze
    held = run.of_file("quarantine/silver_orders", key).to_pylist()
    assert [(h["_source_row"], h["rule"]) for h in held] == [(2, "conflicting_order"), (3, "conflicting_order")]
    assert [json.loads(h["raw_record"])["customer_id"] for h in held] == ["C1", "C2"]  # both versions kept
    (line,) = run.of_file("quarantine/silver_order_items", f"order_items/{D}/reused_id.csv").to_pylist()
    assert line["rule"] == "order_rejected" and "conflicting_order" in line["detail"]
    assert "RU1" not in run.table("silver/orders_validated").column("order_id").to_pylist()
