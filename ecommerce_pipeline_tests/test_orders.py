import json
from datetime import date
from decimal import Decimal

import pyarrow as pa

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.ingest import parse_landing_file
from ecommerce_pipeline.settings import DEFAULT_NON_REVENUE_STATUSES
from ecommerce_pipeline.transforms.bronze import QUARANTINE_SCHEMA, validate_batch
from ecommerce_pipeline.transforms.orders import (
    DIMENSION_COLUMNS,
    UNRESOLVED_COLUMNS,
    merge_versions,
    order_batch,
    resolve_dimensions,
)

from .conftest import DAY, NOW, STORE, bronze, csv_bytes, silver_of

D2 = date(2025, 1, 2)
NO_REJECTS = QUARANTINE_SCHEMA.empty_table()


def lines(table: pa.Table) -> dict[tuple[str, int], dict]:
    return {(r["order_id"], r["line_number"]): r for r in table.to_pylist()}


def test_current_lines_carry_revenue_region_and_category(silver_tables):
    rows = lines(silver_tables["orders_validated"])
    assert set(rows) == {("O1", 1), ("O1", 2), ("O2", 1), ("O3", 1), ("O4", 1), ("O5", 1), ("O5", 2)}
    o1 = rows[("O1", 1)]
    assert (o1["line_amount"], o1["line_revenue"], o1["discount"]) == (Decimal("90.00"), Decimal("90.00"), Decimal("10.00"))
    assert (o1["product_category"], o1["customer_region"], o1["order_year"], o1["order_month"]) == ("electronics", "CA", 2025, 1)
    assert (o1["business_date"], o1["currency"], o1["shipping_cost"], o1["tax"]) == (DAY, "USD", Decimal("5.00"), Decimal("2.00"))
    assert rows[("O1", 2)]["product_category"] == "uncategorized"  # blank category
    assert rows[("O3", 1)]["customer_region"] == "BR"  # blank state: the country


def test_unknown_customers_and_products_keep_their_revenue():
    rows = lines(silver_of()["orders_validated"])
    # C404 is not in customers_clean; P9 is not in products_clean.
    o4 = rows[("O4", 1)]
    assert (o4["customer_known"], o4["customer_region"], o4["line_revenue"]) == (False, "unknown", Decimal("20.00"))
    p9 = rows[("O5", 1)]
    assert (p9["product_known"], p9["product_category"], p9["line_revenue"]) == (False, "uncategorized", Decimal("5.00"))
    assert rows[("O5", 2)]["product_known"] and rows[("O5", 2)]["customer_known"]
    assert silver_of()["order_batch"].orders_quarantine.num_rows == 0


def test_non_revenue_statuses_carry_zero_revenue(silver_tables):
    rows = {r["order_id"]: r for r in silver_tables["orders_validated"].to_pylist()}
    assert rows["O2"]["status"] == "cancelled" and not rows["O2"]["is_revenue"]
    assert rows["O2"]["line_revenue"] == 0 and rows["O2"]["line_amount"] == Decimal("100.00")


def test_a_header_sent_twice_is_two_versions_and_the_later_one_is_current(silver_tables):
    versions = [r for r in silver_tables["order_versions"].to_pylist() if r["order_id"] == "O3"]
    # Rows 4 and 5 of the file; the line set of the day belongs to the day's latest version (row 5).
    assert [(r["_source_row"], r["line_count"], r["is_current"], r["lines_current"]) for r in versions] == [
        (4, 0, False, False),
        (5, 1, True, True),
    ]
    assert [r["order_id"] for r in silver_tables["orders_validated"].to_pylist()].count("O3") == 1


def test_lines_without_order_orders_without_lines_and_excess_discount():
    store = {
        **STORE,
        "orders": [*STORE["orders"][:1], {**STORE["orders"][0], "order_id": "O7"}],
        "order_items": [
            *STORE["order_items"][:2],
            {"order_id": "O8", "line_number": "1", "product_id": "P1", "quantity": "1", "unit_price": "5"},
        ],
    }
    silver = silver_of(store)
    batch = silver["order_batch"]
    assert silver["orders_validated"].column("order_id").to_pylist() == ["O1", "O1"]
    # O7 has no lines yet: a valid version (status only), with no line in the current state.
    assert sorted(batch.headers.column("order_id").to_pylist()) == ["O1", "O7"]
    assert batch.orders_quarantine.num_rows == 0
    assert batch.lines_quarantine.column("rule").to_pylist() == ["line_without_order"]

    store["order_items"] = [{**STORE["order_items"][0], "discount": "500"}, STORE["order_items"][1]]
    silver = silver_of(store)
    batch = silver["order_batch"]
    assert [(r["_source_row"], r["rule"]) for r in batch.lines_quarantine.to_pylist()] == [
        (2, "discount_exceeds_amount"),
        (3, "order_rejected"),
    ]
    assert batch.orders_quarantine.column("rule").to_pylist() == ["order_has_invalid_line"]
    assert "O1" not in silver["orders_validated"].column("order_id").to_pylist()


def test_a_line_rejected_in_bronze_holds_back_its_order_whole():
    items = [
        {"order_id": "O1", "line_number": "1", "product_id": "P1", "quantity": "1", "unit_price": "20"},
        {"order_id": "O1", "line_number": "2", "product_id": "P1", "quantity": "-1", "unit_price": "20"},
        {"order_id": "O9", "line_number": "1", "product_id": "P1", "quantity": "1", "unit_price": "20"},
    ]
    parsed = parse_landing_file(f"order_items/{DAY}/order_items.csv", csv_bytes(items))
    items_bronze = validate_batch(ENTITIES["order_items"], [parsed], DAY, "b", NOW)
    assert items_bronze.quarantine.column("rule").to_pylist() == ["positive"]
    orders = bronze("orders", [STORE["orders"][0], {**STORE["orders"][0], "order_id": "O9"}])
    batch = order_batch(orders, items_bronze.valid, items_bronze.quarantine)
    assert batch.headers.column("order_id").to_pylist() == ["O9"]
    assert batch.orders_quarantine.column("rule").to_pylist() == ["order_has_invalid_line"]
    assert [(r["_source_row"], r["rule"]) for r in batch.lines_quarantine.to_pylist()] == [(2, "order_rejected")]
    assert batch.lines.column("order_id").to_pylist() == ["O9"]


def run_days(*days_rows):
    """Merge each (day, orders, items) batch into the versions kept so far, as successive runs do."""
    headers = line_versions = None
    for day, orders, items in days_rows:
        day_items = bronze("order_items", items or ITEMS, day).slice(0, 0 if items is None else None)
        batch = order_batch(bronze("orders", orders, day), day_items, NO_REJECTS)
        touched = set(batch.headers.column("order_id").to_pylist())
        if headers is not None:
            touched |= set(headers.filter(pa.compute.equal(headers.column("landing_date"), day)).column("order_id").to_pylist())
        merged = merge_versions(headers, line_versions, batch, [day], sorted(touched))
        headers, line_versions = merged.headers, merged.lines
    return merged


ORDER = {"order_id": "O1", "customer_id": "C1", "order_ts": "2025-01-01T10:00:00Z", "status": "processing"}
ITEMS = [
    {"order_id": "O1", "line_number": "1", "product_id": "P1", "quantity": "1", "unit_price": "100"},
    {"order_id": "O1", "line_number": "2", "product_id": "P2", "quantity": "1", "unit_price": "25"},
]


def test_a_status_only_update_on_a_later_day_keeps_the_known_lines():
    shipped = {**ORDER, "status": "shipped", "updated_at": "2025-01-02T09:00:00Z"}
    merged = run_days((DAY, [ORDER], ITEMS), (D2, [shipped], None))
    assert [(r["status"], r["landing_date"], r["is_current"], r["lines_current"]) for r in merged.headers.to_pylist()] == [
        ("processing", DAY, False, True),
        ("shipped", D2, True, False),
    ]
    assert [(r["line_number"], r["status"], r["unit_price"]) for r in merged.current.to_pylist()] == [
        (1, "shipped", Decimal("100.00")),
        (2, "shipped", Decimal("25.00")),
    ]


def test_the_latest_version_is_the_latest_updated_at_not_the_latest_arrival():
    newer = {**ORDER, "status": "delivered", "updated_at": "2025-01-01T20:00:00Z"}
    stale = {**ORDER, "status": "shipped", "updated_at": "2025-01-01T15:00:00Z"}
    merged = run_days((DAY, [newer], ITEMS), (D2, [stale], None))
    assert {r["status"] for r in merged.current.to_pylist()} == {"delivered"}


def test_a_cancellation_leaves_the_lines_with_no_revenue():
    cancelled = {**ORDER, "status": "cancelled", "updated_at": "2025-01-02T09:00:00Z"}
    merged = run_days((DAY, [ORDER], ITEMS), (D2, [cancelled], None))
    dims = silver_of()
    resolved = resolve_dimensions(
        merged.current.select(UNRESOLVED_COLUMNS),
        dims["customers_clean"].select(DIMENSION_COLUMNS["customers"]),
        dims["products_clean"].select(DIMENSION_COLUMNS["products"]),
        DEFAULT_NON_REVENUE_STATUSES,
    )
    assert [(r["status"], r["line_amount"], r["line_revenue"], r["is_revenue"]) for r in resolved.to_pylist()] == [
        ("cancelled", Decimal("100.00"), Decimal("0.00"), False),
        ("cancelled", Decimal("25.00"), Decimal("0.00"), False),
    ]


def test_order_dates_are_in_the_store_time_zone():
    late = {**ORDER, "order_ts": "2025-01-02T03:30:00Z"}  # 22:30 on 1 January in New York
    assert order_batch(bronze("orders", [late]), bronze("order_items", ITEMS[:1]), NO_REJECTS).headers.column(
        "order_date"
    ).to_pylist() == [D2]
    ny = order_batch(bronze("orders", [late]), bronze("order_items", ITEMS[:1]), NO_REJECTS, "America/New_York")
    assert ny.headers.column("order_date").to_pylist() == [DAY]
    assert ny.lines.column("order_date").to_pylist() == [DAY]


def test_an_order_id_reused_by_another_customer_the_same_day_is_a_conflicting_order():
    other = {**ORDER, "customer_id": "C2", "status": "delivered", "updated_at": "2025-01-01T12:00:00Z"}
    batch = order_batch(bronze("orders", [ORDER, other]), bronze("order_items", ITEMS), NO_REJECTS)
    # Neither version is merged into the other: both are held back, with the day's lines.
    assert batch.headers.num_rows == 0 and batch.lines.num_rows == 0
    assert [(r["_source_row"], r["rule"]) for r in batch.orders_quarantine.to_pylist()] == [
        (2, "conflicting_order"),
        (3, "conflicting_order"),
    ]
    assert "customers C1, C2" in batch.orders_quarantine.column("detail")[0].as_py()
    assert [json.loads(r)["customer_id"] for r in batch.orders_quarantine.column("raw_record").to_pylist()] == ["C1", "C2"]
    assert batch.lines_quarantine.column("rule").to_pylist() == ["order_rejected", "order_rejected"]


def test_a_conflicting_day_leaves_the_order_as_it_was():
    other = {**ORDER, "customer_id": "C2", "updated_at": "2025-01-02T12:00:00Z"}
    again = {**ORDER, "status": "shipped", "updated_at": "2025-01-02T09:00:00Z"}
    merged = run_days((DAY, [ORDER], ITEMS), (D2, [again, other], None))
    # No version of the conflicting day is stored: the first day's stays current, with its lines.
    assert [(r["customer_id"], r["status"], r["landing_date"], r["is_current"], r["lines_current"])
            for r in merged.headers.to_pylist()] == [("C1", "processing", DAY, True, True)]  # fmt: skip
    # The same customer sending the order twice in a day is two versions, not a conflict.
    merged = run_days((DAY, [ORDER, {**ORDER, "status": "shipped", "updated_at": "2025-01-01T11:00:00Z"}], ITEMS))
    assert {r["status"] for r in merged.current.to_pylist()} == {"shipped"}


def test_resolving_gives_the_rows_of_the_named_statements_run_one_after_another():
    """``resolve_dimensions`` joins the versions over the lines' keys and puts the columns back beside the lines;
    ``resolve_steps`` is the meaning: its statements over whole rows, one after another, give the same rows in
    the same order. Versions several to a key, two with the same time (the first never applied), lines older
    than every version, and keys with no version at all."""
    from datetime import UTC, datetime, timedelta

    import numpy as np

    from ecommerce_pipeline.transforms.orders import resolve_steps
    from ecommerce_pipeline.transforms.sql import arrow, connect

    rng = np.random.default_rng(11)
    start = datetime(2025, 1, 1, tzinfo=UTC)

    def versions(prefix: str, keys: int, value: str, labels: list[str]) -> pa.Table:
        out = []
        for k in range(keys):
            times = sorted(start + timedelta(hours=int(h)) for h in rng.integers(0, 24 * 20, rng.integers(1, 4)))
            if k % 7 == 0:
                times.insert(0, times[0])  # a version replaced at once by another of the same time
            for i, t in enumerate(times):
                out.append({f"{prefix}_id": f"{prefix[0].upper()}{k}", value: str(rng.choice(labels)),
                            "valid_from": t, "valid_to": times[i + 1] if i + 1 < len(times) else None,
                            "landing_date": t.date(), "_source_file": "f.csv", "_source_row": i + 2})  # fmt: skip
        return pa.Table.from_pylist(out)

    customers = versions("customer", 60, "region", ["CA", "NY", "BR"])
    products = versions("product", 40, "category", ["toys", "books"])
    n = 2_000
    order_ts = [start + timedelta(hours=int(h)) for h in rng.integers(-48, 24 * 22, n)]
    rows = pa.table(
        {
            "order_id": [f"O{i // 3}" for i in range(n)],
            "line_number": pa.array([i % 3 + 1 for i in range(n)], pa.int64()),
            "customer_id": [f"C{c}" for c in rng.integers(0, 70, n)],  # C60-C69: no version
            "product_id": [f"P{p}" for p in rng.integers(0, 45, n)],
            "quantity": pa.array(rng.integers(1, 4, n), pa.int64()),
            "unit_price": pa.array([Decimal("9.99")] * n, pa.decimal128(18, 2)),
            "discount": pa.array([Decimal("0.00")] * n, pa.decimal128(18, 2)),
            "order_ts": pa.array(order_ts, pa.timestamp("us", tz="UTC")),
            "order_date": [t.date() for t in order_ts],
            "status": [str(s) for s in rng.choice(["delivered", "cancelled"], n)],
            "payment_method": ["card"] * n,
            "currency": ["USD"] * n,
            "shipping_cost": pa.array([Decimal("1.00")] * n, pa.decimal128(18, 2)),
            "tax": pa.array([Decimal("0.50")] * n, pa.decimal128(18, 2)),
            "landing_date": [DAY] * n,
            "_source_file": ["items.csv"] * n,
            "_source_row": pa.array(range(2, n + 2), pa.int64()),
            "_order_source_file": ["orders.csv"] * n,
            "_order_source_row": pa.array([i // 3 + 2 for i in range(n)], pa.int64()),
            "_batch_id": ["b"] * n,
        }
    ).select(UNRESOLVED_COLUMNS)

    con = connect()
    for name, table in (("lines", rows), ("customers", customers), ("products", products)):
        con.register(name, table)
    *joins, (_, resolved) = resolve_steps("lines", "customers", "products").items()
    steps = []
    for name, sql in joins:
        steps.append(arrow(con, sql))
        con.register(name, steps[-1])
    expected = arrow(con, resolved, {"non_revenue": list(DEFAULT_NON_REVENUE_STATUSES)})

    got = resolve_dimensions(rows, customers, products, DEFAULT_NON_REVENUE_STATUSES)
    assert got.num_rows == n
    assert got.equals(expected)
    assert {False, True} <= set(got.column("customer_known").to_pylist())
