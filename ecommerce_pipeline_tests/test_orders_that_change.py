"""Orders that change after they are first sent: every scenario through real Dagster runs, real Iceberg
tables and the DuckDB catalog, compared with figures worked out by hand from the landing rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from ecommerce_pipeline.settings import load_settings

D1, D2, D3 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)

CUSTOMER = {"customer_id": "C1", "email": "ann@example.com", "state": "CA", "country": "US",
            "updated_at": "2025-01-01T00:00:00Z"}  # fmt: skip
PRODUCTS = [
    {"product_id": "P1", "product_name": "Phone", "category": "Electronics", "base_price": "100"},
    {"product_id": "P2", "product_name": "Case", "category": "Accessories", "base_price": "25"},
]


def order(status: str, ts: str = "2025-01-01T10:00:00Z", updated: str | None = None, order_id="O1", customer="C1"):
    row = {"order_id": order_id, "customer_id": customer, "order_ts": ts, "status": status}
    if updated:
        row["updated_at"] = updated
    return row


LINES_125 = [
    {"order_id": "O1", "line_number": "1", "product_id": "P1", "quantity": "1", "unit_price": "100.00"},
    {"order_id": "O1", "line_number": "2", "product_id": "P2", "quantity": "1", "unit_price": "25.00"},
]


def run(*days: date) -> None:
    """Materialize every asset for each day, one run a day, as the nightly schedule would."""
    from ecommerce_pipeline.definitions import defs
    from ecommerce_pipeline.defs.resources import resources_for

    for day in days:
        result = dg.materialize(list(defs.assets), partition_key=day.isoformat(), resources=resources_for())
        assert result.success


def sql(query: str) -> list[dict]:
    from ecommerce_pipeline.catalog.duckdb_catalog import DuckDBCatalog
    from ecommerce_pipeline.storage.lake import LocalLake

    settings = load_settings()
    return DuckDBCatalog(settings.catalog_path, LocalLake(settings.lake_dir)).query(query).to_pylist()


def revenue_by_date() -> dict[date, Decimal]:
    rows = sql("SELECT business_date, sum(total_revenue) AS r FROM gold.daily_sales_summary GROUP BY 1")
    return {r["business_date"]: r["r"] for r in rows}


@pytest.fixture
def shop(project_env: Path, write_landing):
    """Customers and products on the first day; each test lands its orders."""
    write_landing("customers", [CUSTOMER], D1)
    write_landing("products", PRODUCTS, D1)
    return write_landing


def test_a_status_change_counts_the_order_once(shop):
    shop("orders", [order("processing")], D1)
    shop("order_items", LINES_125, D1)
    shop("orders", [order("shipped", updated="2025-01-02T09:00:00Z")], D2)
    shop("order_items", LINES_125, D2)
    run(D1, D2)
    assert revenue_by_date() == {D1: Decimal("125.00")}
    rolling = sql("SELECT order_date, daily_revenue, revenue_30d FROM analytics.rolling_revenue_30d")
    assert rolling == [{"order_date": D1, "daily_revenue": Decimal("125.00"), "revenue_30d": Decimal("125.00")}]
    versions = sql("SELECT status, is_current FROM silver.order_versions ORDER BY version_ts")
    assert versions == [{"status": "processing", "is_current": False}, {"status": "shipped", "is_current": True}]
    current = sql("SELECT DISTINCT status FROM silver.orders_validated")
    assert current == [{"status": "shipped"}]


def test_a_later_refund_removes_the_revenue_from_the_order_date(shop):
    shop("orders", [order("delivered")], D1)
    shop("order_items", LINES_125, D1)
    shop("orders", [order("refunded", updated="2025-01-03T08:00:00Z")], D3)  # status only: no lines
    run(D1, D2)
    assert revenue_by_date() == {D1: Decimal("125.00")}
    run(D3)
    assert revenue_by_date() == {}
    clv = sql("SELECT count(*) AS n FROM gold.customer_lifetime_value")
    assert clv == [{"n": 0}]
    restated = sql(
        "SELECT business_date FROM silver.restatements WHERE landing_date = DATE '2025-01-03' AND table_name = 'silver/orders_validated'"
    )
    assert {r["business_date"] for r in restated} == {D1}


def test_time_travel_reads_a_gold_table_as_it_was_before_the_refund(shop):
    from ecommerce_pipeline.catalog.duckdb_catalog import DuckDBCatalog
    from ecommerce_pipeline.storage.lake import LocalLake
    from ecommerce_pipeline.storage.tables import local_table_store

    shop("orders", [order("delivered")], D1)
    shop("order_items", LINES_125, D1)
    shop("orders", [order("refunded", updated="2025-01-03T08:00:00Z")], D3)
    run(D1)
    settings = load_settings()
    store = local_table_store(settings.lake_dir)
    before_refund = store.snapshots("gold/daily_sales_summary")[-1]["snapshot_id"]
    run(D3)
    catalog = DuckDBCatalog(settings.catalog_path, LocalLake(settings.lake_dir), store)
    query = "SELECT sum(total_revenue) AS revenue FROM gold.daily_sales_summary"
    assert catalog.query(query).to_pylist() == [{"revenue": None}]
    as_of = catalog.query(query, {"gold/daily_sales_summary": before_refund}).to_pylist()
    assert as_of == [{"revenue": Decimal("125.00")}]


def test_a_status_only_update_keeps_the_known_lines(shop):
    shop("orders", [order("processing")], D1)
    shop("order_items", LINES_125, D1)
    shop("orders", [order("shipped", updated="2025-01-02T09:00:00Z")], D2)
    run(D1, D2)
    lines = sql("SELECT line_number, status, line_revenue FROM silver.orders_validated ORDER BY line_number")
    assert lines == [
        {"line_number": 1, "status": "shipped", "line_revenue": Decimal("100.00")},
        {"line_number": 2, "status": "shipped", "line_revenue": Decimal("25.00")},
    ]
    quarantined = sql("SELECT count(*) AS n FROM quarantine.silver_orders")
    assert quarantined == [{"n": 0}]


def test_a_line_rejected_in_bronze_holds_back_the_whole_order(shop):
    shop("orders", [order("delivered")], D1)
    shop(
        "order_items",
        [
            {"order_id": "O1", "line_number": "1", "product_id": "P1", "quantity": "1", "unit_price": "20.00"},
            {"order_id": "O1", "line_number": "2", "product_id": "P1", "quantity": "-1", "unit_price": "20.00"},
            {"order_id": "O1", "line_number": "3", "product_id": "P2", "quantity": "1", "unit_price": "20.00"},
        ],
        D1,
    )
    run(D1)
    assert revenue_by_date() == {}
    assert sql("SELECT rule FROM quarantine.bronze_order_items") == [{"rule": "positive"}]
    assert sql("SELECT rule FROM quarantine.silver_orders") == [{"rule": "order_has_invalid_line"}]
    held = sql("SELECT _source_row, rule FROM quarantine.silver_order_items ORDER BY _source_row")
    assert held == [{"_source_row": 2, "rule": "order_rejected"}, {"_source_row": 4, "rule": "order_rejected"}]


def test_orders_after_the_folder_day_in_utc_are_dated_in_the_store_time_zone(shop, monkeypatch):
    monkeypatch.setenv("ECOM_STORE_TIMEZONE", "America/New_York")
    # 22:30 in New York on 1 January is 03:30 UTC on 2 January; 07:00 UTC on 2 January is 02:00 in New York.
    shop(
        "orders",
        [order("delivered", "2025-01-02T03:30:00Z"), order("delivered", "2025-01-02T07:00:00Z", order_id="O2")],
        D1,
    )
    shop("order_items", [*LINES_125, {**LINES_125[0], "order_id": "O2"}], D1)
    run(D1)
    assert revenue_by_date() == {D1: Decimal("125.00"), D2: Decimal("100.00")}
    clv = sql("SELECT first_order_date, last_order_date, total_spent FROM gold.customer_lifetime_value")
    assert clv == [{"first_order_date": D1, "last_order_date": D2, "total_spent": Decimal("225.00")}]


def test_orders_take_the_region_the_customer_had_when_they_ordered(shop):
    shop("orders", [order("delivered", "2025-01-01T10:00:00Z")], D1)
    shop("order_items", LINES_125[:1], D1)
    shop("customers", [{**CUSTOMER, "state": "NY", "updated_at": "2025-01-02T09:00:00Z"}], D2)
    shop(
        "orders",
        [
            order("delivered", "2025-01-02T08:00:00Z", order_id="O2"),
            order("delivered", "2025-01-02T12:00:00Z", order_id="O3"),
        ],
        D2,
    )
    shop("order_items", [{**LINES_125[0], "order_id": "O2"}, {**LINES_125[0], "order_id": "O3"}], D2)
    run(D1, D2)
    regions = sql("SELECT order_id, customer_region FROM silver.orders_validated ORDER BY order_id")
    assert regions == [
        {"order_id": "O1", "customer_region": "CA"},
        {"order_id": "O2", "customer_region": "CA"},
        {"order_id": "O3", "customer_region": "NY"},
    ]
    history = sql("SELECT state, valid_to IS NULL AS open, is_current FROM silver.customers_clean ORDER BY valid_from")
    assert history == [
        {"state": "CA", "open": False, "is_current": False},
        {"state": "NY", "open": True, "is_current": True},
    ]


def test_a_customer_file_removed_before_a_rerun_takes_its_version_out_and_an_empty_day_writes_nothing(shop):
    """A day without customer files leaves the stored history as it is (no new snapshot); a re-run of a day whose
    customer file was removed takes that version out, and the orders it covered get their region back."""
    from ecommerce_pipeline.storage.tables import local_table_store

    def snapshots(table: str) -> int:
        return len(local_table_store(load_settings().lake_dir).snapshots(table))

    shop("orders", [order("delivered", "2025-01-02T12:00:00Z")], D2)
    shop("order_items", LINES_125[:1], D2)
    landing = shop("customers", [{**CUSTOMER, "state": "NY", "updated_at": "2025-01-02T09:00:00Z"}], D2)
    run(D1, D2)
    assert sql("SELECT region FROM gold.daily_sales_summary") == [{"region": "NY"}]
    (landing / "customers" / D2.isoformat() / "customers.csv").unlink()
    run(D2)
    assert sql("SELECT state FROM silver.customers_clean") == [{"state": "CA"}]
    assert sql("SELECT region FROM gold.daily_sales_summary") == [{"region": "CA"}]
    history = snapshots("silver/customers_clean")
    run(D2)  # again: the history is as stored (the change the last run logged for D2 is taken out of the log)
    assert snapshots("silver/customers_clean") == history
    before = {t: snapshots(t) for t in ("silver/customers_clean", "silver/dimension_changes")}
    run(D3)  # a day without customer files, and nothing of theirs before: no commit at all
    assert {t: snapshots(t) for t in before} == before
    assert sql("SELECT state FROM silver.customers_clean") == [{"state": "CA"}]
    assert sql("SELECT region FROM gold.daily_sales_summary") == [{"region": "CA"}]


def test_a_backdated_customer_version_restates_the_orders_it_covers(shop):
    """A correction that arrives later but applies from an earlier time restates the older order date."""
    shop("orders", [order("delivered", "2025-01-01T10:00:00Z")], D1)
    shop("order_items", LINES_125[:1], D1)
    shop("customers", [{**CUSTOMER, "state": "OR", "updated_at": "2025-01-01T06:00:00Z"}], D3)
    run(D1, D2)
    assert sql("SELECT region FROM gold.daily_sales_summary") == [{"region": "CA"}]
    run(D3)
    assert sql("SELECT region FROM gold.daily_sales_summary") == [{"region": "OR"}]


def test_an_order_whose_customer_arrives_later_keeps_its_revenue_and_gets_its_region(shop):
    shop("orders", [order("delivered", customer="C9")], D1)
    shop("order_items", LINES_125, D1)
    run(D1)
    by_region = "SELECT region, sum(total_revenue) AS revenue FROM gold.daily_sales_summary GROUP BY region"
    assert sql(by_region) == [{"region": "unknown", "revenue": Decimal("125.00")}]
    assert sql("SELECT customer_known FROM silver.orders_validated") == [{"customer_known": False}] * 2
    shop("customers", [{**CUSTOMER, "customer_id": "C9", "state": "TX", "updated_at": "2025-01-02T00:00:00Z"}], D2)
    run(D2)
    assert sql(by_region) == [{"region": "TX", "revenue": Decimal("125.00")}]


def test_rerunning_a_day_is_idempotent(shop):
    shop("orders", [order("processing")], D1)
    shop("order_items", LINES_125, D1)
    shop("orders", [order("shipped", updated="2025-01-02T09:00:00Z")], D2)
    run(D1, D2, D2, D1, D2)
    assert revenue_by_date() == {D1: Decimal("125.00")}
    assert sql("SELECT count(*) AS n FROM silver.order_versions") == [{"n": 2}]
    assert sql("SELECT count(*) AS n FROM silver.orders_validated") == [{"n": 2}]


def test_a_landing_file_removed_before_a_rerun_takes_its_versions_out(shop, tmp_path):
    shop("orders", [order("processing")], D1)
    shop("order_items", LINES_125, D1)
    landing = shop("orders", [order("cancelled", updated="2025-01-02T09:00:00Z")], D2)
    run(D1, D2)
    assert revenue_by_date() == {}
    (landing / "orders" / D2.isoformat() / "orders.csv").unlink()
    run(D2)
    assert revenue_by_date() == {D1: Decimal("125.00")}
    assert sql("SELECT status FROM silver.order_versions") == [{"status": "processing"}]


GOLD = ("daily_sales_summary", "customer_lifetime_value", "product_performance", "conversion_funnel")
KEYS = {
    "daily_sales_summary": "business_date, product_category, region, currency",
    "customer_lifetime_value": "customer_id, currency",
    "product_performance": "business_date, product_id, currency",
    "conversion_funnel": "business_date, device_type",
}


def gold_tables() -> dict[str, list[dict]]:
    tables = {name: sql(f"SELECT * FROM gold.{name} ORDER BY {KEYS[name]}") for name in GOLD}
    tables["orders_validated"] = sql(
        "SELECT * EXCLUDE (landing_date, _source_file, _source_row, _order_source_file, _order_source_row, _batch_id) "
        "FROM silver.orders_validated ORDER BY business_date, order_id, line_number"
    )
    return tables


@pytest.mark.slow
def test_replaying_days_in_any_order_gives_identical_gold(tmp_path, monkeypatch):
    """Five generated days with re-sent orders (status changes, refunds), customers who move and products that
    change: one backfill run, day by day, and shuffled days must give the same tables cell by cell."""
    from ecommerce_pipeline.cli import main

    landing = tmp_path / "landing"
    monkeypatch.setenv("ECOM_LANDING_DIR", str(landing))
    monkeypatch.setenv("ECOM_STORE_TIMEZONE", "America/Sao_Paulo")
    args = ["generate", "--start", "2025-01-01", "--end", "2025-01-05", "--lines-per-day", "300", "--seed", "3"]
    assert main(args) == 0
    days = [date(2025, 1, d) for d in range(1, 6)]
    results = {}
    for name, order_of_days in (
        ("backfill", None),
        ("in_order", days),
        ("shuffled", [days[i] for i in (3, 0, 4, 2, 1)]),
    ):
        for var, sub in (
            ("ECOM_LAKE_DIR", "lake"),
            ("ECOM_CATALOG_PATH", "lake/catalog.duckdb"),
            ("DAGSTER_HOME", "home"),
        ):
            monkeypatch.setenv(var, str(tmp_path / name / sub))
        (tmp_path / name / "home").mkdir(parents=True)
        if order_of_days is None:
            assert main(["run", "--start", "2025-01-01", "--end", "2025-01-05"]) == 0
        else:
            run(*order_of_days)
        results[name] = gold_tables()
    assert results["backfill"]["daily_sales_summary"], "the store has sales"
    assert sql("SELECT count(*) AS n FROM silver.order_versions WHERE NOT is_current")[0]["n"] > 0, "orders changed"
    for name in ("in_order", "shuffled"):
        for table, rows in results["backfill"].items():
            assert results[name][table] == rows, f"{name}: {table} differs"


def test_a_day_without_event_files_commits_nothing_and_each_check_still_runs(shop):
    """A night without click events rewrites nothing (no Iceberg commit) yet still shows the day's figures and
    checks; a re-run of a day whose event file was removed takes its events out."""
    from ecommerce_pipeline.definitions import defs
    from ecommerce_pipeline.defs.resources import resources_for
    from ecommerce_pipeline.storage.tables import local_table_store

    def snapshots() -> int:
        return len(local_table_store(load_settings().lake_dir).snapshots("silver/events_clean"))

    shop("orders", [order("delivered")], D1)
    shop("order_items", LINES_125, D1)
    clicks = [
        {"event_id": "E1", "session_id": "S1", "event_type": "page_view", "event_ts": "2025-01-01T09:00:00Z"},
        {"event_id": "E2", "session_id": "S1", "event_type": "product_view", "event_ts": "2025-01-01T09:01:00Z"},
    ]
    landing = shop("events", clicks, D1)
    run(D1)
    before = snapshots()
    result = dg.materialize(list(defs.assets), partition_key=D2.isoformat(), resources=resources_for())
    assert result.success
    assert snapshots() == before
    events = dg.AssetKey(["silver", "events_clean"])
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations() if e.asset_key == events}
    assert checks == {"schema": True, "row_conservation": True}
    (materialization,) = [m for m in result.asset_materializations_for_node("events_clean") if m.asset_key == events]
    assert materialization.partition == D2.isoformat()
    assert materialization.metadata["dagster/row_count"].value == 0
    assert {"dagster/column_schema", "preview"} <= set(materialization.metadata)
    assert sql("SELECT count(*) AS n FROM silver.events_clean") == [{"n": 2}]
    funnel = "SELECT business_date, sessions FROM gold.conversion_funnel WHERE device_type = 'all'"
    assert sql(funnel) == [{"business_date": D1, "sessions": 1}]

    (landing / "events" / D1.isoformat() / "events.csv").unlink()
    run(D1)
    assert sql("SELECT count(*) AS n FROM silver.events_clean") == [{"n": 0}]
    assert sql(funnel) == []
