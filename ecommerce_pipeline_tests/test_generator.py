from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.ingest import parse_landing_file
from ecommerce_pipeline.tooling.generator import DEFECT_KINDS, generate_day, generate_store
from ecommerce_pipeline.transforms.bronze import validate_batch
from ecommerce_pipeline.transforms.field_quality import check_email, check_phone

START = date(2025, 1, 6)  # a Monday
TWO_WEEKS = [START + timedelta(days=i) for i in range(14)]
LINES = 200
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}


def landing_path(root: Path, entity: str, day: date, ext: str = "csv") -> Path:
    return root / entity / day.isoformat() / f"{entity}_{day.isoformat()}.{ext}"


def read_csv(path: Path, entity: str) -> pa.Table:
    names = ENTITIES[entity].column_names
    options = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True)
    return pacsv.read_csv(path, convert_options=options)


def read_any(path: Path, entity: str) -> pa.Table:
    schema = pa.schema([(n, pa.string()) for n in ENTITIES[entity].column_names])
    if path.suffix == ".parquet":
        return pq.read_table(path)
    if path.suffix == ".jsonl":
        return pajson.read_json(path, parse_options=pajson.ParseOptions(explicit_schema=schema))
    return read_csv(path, entity)


def sql(query: str, **tables: pa.Table) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def load_store(root: Path, days: list[date]) -> dict[str, pa.Table]:
    """Every entity's rows over ``days``, with the landing day as a ``day`` column."""
    store = {}
    for entity in ENTITIES:
        parts = []
        for day in days:
            table = read_csv(landing_path(root, entity, day), entity)
            parts.append(table.append_column("day", pa.array([day] * table.num_rows, pa.date32())))
        store[entity] = pa.concat_tables(parts)
    return store


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, object, dict[str, pa.Table]]:
    root = tmp_path_factory.mktemp("clean")
    summary = generate_store(root, TWO_WEEKS[0], TWO_WEEKS[-1], lines_per_day=LINES, seed=7, defect_rate=0)
    return root, summary, load_store(root, TWO_WEEKS)


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- determinism and layout -----------------------------------------------------------------------


@pytest.mark.parametrize("file_format", EXTENSIONS)
def test_same_arguments_write_byte_identical_files(tmp_path, file_format):
    args = dict(lines_per_day=LINES, seed=11, defect_rate=0.03, file_format=file_format)
    generate_store(tmp_path / "a", START, START + timedelta(days=2), **args)
    generate_store(tmp_path / "b", START, START + timedelta(days=2), **args)
    first, second = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert len(first) == 3 * len(ENTITIES) + 2  # plus the order updates of days 2 and 3
    assert first == second


def test_another_seed_gives_other_data(tmp_path):
    generate_store(tmp_path / "a", START, START, lines_per_day=LINES, seed=1)
    generate_store(tmp_path / "b", START, START, lines_per_day=LINES, seed=2)
    first, second = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert first.keys() == second.keys()
    assert all(first[name] != second[name] for name in first)


def test_a_day_does_not_depend_on_the_days_after_it(tmp_path):
    generate_store(tmp_path / "short", START, START + timedelta(days=1), lines_per_day=LINES, seed=5)
    generate_store(tmp_path / "long", START, START + timedelta(days=4), lines_per_day=LINES, seed=5)
    short, long = files_of(tmp_path / "short"), files_of(tmp_path / "long")
    assert {name: long[name] for name in short} == short


def test_files_follow_the_landing_layout(clean):
    root, summary, store = clean
    updates = {root / "orders" / d.isoformat() / f"order_updates_{d.isoformat()}.csv" for d in TWO_WEEKS[1:]}
    expected = {landing_path(root, e, d) for e in ENTITIES for d in TWO_WEEKS} | updates
    assert {p for p in root.rglob("*") if p.is_file()} == expected
    assert set(summary.files) == expected and len(summary.files) == len(expected)
    assert summary.days == 14
    update_rows = sum(read_csv(p, "orders").num_rows for p in updates)
    assert summary.rows == {e: store[e].num_rows + (update_rows if e == "orders" else 0) for e in ENTITIES}
    assert summary.defects == dict.fromkeys(DEFECT_KINDS, 0)


def test_tables_hold_exactly_the_contract_columns_as_strings():
    tables, defects, _ = generate_day(START, lines_per_day=LINES, seed=3)
    assert list(tables) == list(ENTITIES)
    assert set(defects) == set(DEFECT_KINDS)
    for entity, table in tables.items():
        assert table.column_names == ENTITIES[entity].column_names
        assert all(pa.types.is_string(t) for t in table.schema.types), entity
        assert table.num_rows > 0, entity


def test_csv_header_is_the_contract_columns_in_order(clean):
    root, _, _ = clean
    for entity in ENTITIES:
        header = landing_path(root, entity, START).read_text().split("\n", 1)[0]
        assert header == ",".join(f'"{c}"' for c in ENTITIES[entity].column_names)


@pytest.mark.parametrize("file_format", EXTENSIONS)
def test_every_format_is_readable_and_holds_the_generated_rows(tmp_path, file_format):
    summary = generate_store(
        tmp_path, START, START + timedelta(days=1), lines_per_day=LINES, seed=9, file_format=file_format
    )
    expected, _, _ = generate_day(START, lines_per_day=LINES, seed=9)
    rows = dict.fromkeys(ENTITIES, 0)
    for path in summary.files:
        entity = path.parent.parent.name
        assert path.suffix == "." + EXTENSIONS[file_format]
        table = read_any(path, entity)
        assert table.column_names == ENTITIES[entity].column_names
        rows[entity] += table.num_rows
        parsed = parse_landing_file(path.name, path.read_bytes())
        assert parsed.rejects.num_rows == 0 and parsed.records.num_rows == table.num_rows
        if path.parent.name == START.isoformat():
            if file_format == "csv":  # CSV cannot tell an empty string from a missing value
                assert table.to_pylist() == [{k: v or None for k, v in r.items()} for r in expected[entity].to_pylist()]
            else:
                assert table.equals(expected[entity])
    assert rows == summary.rows


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="format"):
        generate_store(tmp_path, START, START, lines_per_day=LINES, seed=1, file_format="xml")
    with pytest.raises(ValueError, match="before start"):
        generate_store(tmp_path, START, START - timedelta(days=1), lines_per_day=LINES, seed=1)
    with pytest.raises(ValueError):
        generate_day(START, lines_per_day=0, seed=1)
    _, _, state = generate_day(START, lines_per_day=LINES, seed=1)
    with pytest.raises(ValueError, match="not after"):
        generate_day(START, lines_per_day=LINES, seed=1, state=state)


# --- a consistent store ---------------------------------------------------------------------------


def test_clean_store_passes_bronze_validation(clean):
    root, _, _ = clean
    now = datetime(2025, 2, 1, tzinfo=UTC)
    for day in TWO_WEEKS[:3]:
        for entity in ENTITIES:
            path = landing_path(root, entity, day)
            parsed = parse_landing_file(f"{entity}/{day}/{path.name}", path.read_bytes())
            result = validate_batch(ENTITIES[entity], [parsed], day, "b", now)
            assert result.quarantine.num_rows == 0, result.quarantine.column("detail").to_pylist()[:5]
            assert result.valid.num_rows == parsed.landing_rows > 0


def test_orders_only_reference_customers_and_products_shipped_by_then(clean):
    _, _, store = clean
    late = sql(
        """
        WITH first_customer AS (SELECT customer_id, min(day) AS day FROM customers GROUP BY 1),
             first_product AS (SELECT product_id, min(day) AS day FROM products GROUP BY 1)
        SELECT
          (SELECT count(*) FROM orders o LEFT JOIN first_customer c USING (customer_id)
           WHERE c.day IS NULL OR c.day > o.day),
          (SELECT count(*) FROM order_items i LEFT JOIN first_product p USING (product_id)
           WHERE p.day IS NULL OR p.day > i.day),
          (SELECT count(*) FROM events e LEFT JOIN first_customer c USING (customer_id)
           WHERE e.customer_id IS NOT NULL AND (c.day IS NULL OR c.day > e.day)),
          (SELECT count(*) FROM events e LEFT JOIN first_product p USING (product_id)
           WHERE e.product_id IS NOT NULL AND (p.day IS NULL OR p.day > e.day))
        """,
        **store,
    )
    assert late == [(0, 0, 0, 0)]


def test_every_order_has_lines_numbered_from_one(clean):
    _, _, store = clean
    (row,) = sql(
        """
        WITH lines AS (SELECT day, order_id, count(*) AS n, min(line_number::INT) AS lo, max(line_number::INT) AS hi,
                              count(DISTINCT line_number) AS distinct_numbers
                       FROM order_items GROUP BY ALL)
        SELECT (SELECT count(*) FROM orders o ANTI JOIN lines l USING (day, order_id)),
               (SELECT count(*) FROM lines l ANTI JOIN orders o USING (day, order_id)),
               (SELECT count(*) FROM lines WHERE lo <> 1 OR hi <> n OR distinct_numbers <> n),
               (SELECT max(n) FROM lines), (SELECT avg(n) FROM lines)
        """,
        **store,
    )
    assert row[:3] == (0, 0, 0)
    assert row[3] <= 5 and 2.0 <= row[4] <= 3.0


def test_each_order_has_a_session_ending_in_its_purchase(clean):
    _, _, store = clean
    per_day = sql(
        """
        SELECT o.day, o.n, coalesce(p.n, 0)
        FROM (SELECT day, count(*) AS n FROM orders GROUP BY 1) o
        LEFT JOIN (SELECT day, count(*) AS n FROM events WHERE event_type = 'purchase' GROUP BY 1) p USING (day)
        """,
        **store,
    )
    assert len(per_day) == 14 and all(orders == purchases for _, orders, purchases in per_day)
    (row,) = sql(
        """
        WITH buyers AS (SELECT day, customer_id, count(*) AS n FROM orders GROUP BY ALL),
             purchasers AS (SELECT day, customer_id, count(*) AS n FROM events WHERE event_type = 'purchase' GROUP BY ALL),
             last_events AS (SELECT session_id, arg_max(event_type, (event_ts, event_id)) AS last_type,
                                    count(*) FILTER (WHERE event_type = 'purchase') AS purchases
                             FROM events GROUP BY 1)
        SELECT (SELECT count(*) FROM buyers b FULL JOIN purchasers p USING (day, customer_id)
                WHERE b.n IS DISTINCT FROM p.n),
               (SELECT count(*) FROM last_events WHERE purchases > 1
                  OR (purchases = 1 AND last_type <> 'purchase'))
        """,
        **store,
    )
    assert row == (0, 0)


def test_funnel_never_widens_and_most_sessions_only_browse(clean):
    _, _, store = clean
    rows = sql(
        """
        WITH s AS (SELECT day, session_id,
                          bool_or(event_type = 'product_view') AS viewed, bool_or(event_type = 'add_to_cart') AS carted,
                          bool_or(event_type = 'checkout_start') AS checked_out, bool_or(event_type = 'purchase') AS bought,
                          bool_and(event_type = 'page_view') AS pages_only
                   FROM events GROUP BY ALL)
        SELECT day, count(*), count(*) FILTER (WHERE viewed), count(*) FILTER (WHERE carted),
               count(*) FILTER (WHERE checked_out), count(*) FILTER (WHERE bought), count(*) FILTER (WHERE pages_only)
        FROM s GROUP BY 1
        """,
        **store,
    )
    assert len(rows) == 14
    for _, sessions, viewed, carted, checked_out, bought, pages_only in rows:
        assert 0 < bought <= checked_out <= carted <= viewed < sessions
        assert pages_only > sessions / 2


def test_events_are_ordered_within_their_day_and_session(clean):
    _, _, store = clean
    (row,) = sql(
        """
        WITH e AS (SELECT *, event_ts::TIMESTAMPTZ AS ts,
                          lag(event_ts::TIMESTAMPTZ) OVER (PARTITION BY session_id ORDER BY event_id) AS previous_ts
                   FROM events)
        SELECT count(*) FILTER (WHERE ts::DATE <> day), count(*) FILTER (WHERE ts < previous_ts),
               count(*) FILTER (WHERE NOT regexp_full_match(event_ts, '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ'))
        FROM e
        """,
        **store,
    )
    assert row == (0, 0, 0)


def test_ids_are_unique_across_days(clean):
    _, _, store = clean
    (row,) = sql(
        """
        SELECT (SELECT count(*) - count(DISTINCT order_id) FROM orders),
               (SELECT count(*) - count(DISTINCT event_id) FROM events),
               (SELECT count(DISTINCT session_id) - count(DISTINCT (day, session_id)) FROM events),
               (SELECT count(*) - count(DISTINCT (order_id, line_number)) FROM order_items),
               (SELECT count(*) FILTER (WHERE NOT regexp_full_match(customer_id, 'C\\d{6,}')) FROM customers),
               (SELECT count(*) FILTER (WHERE NOT regexp_full_match(product_id, 'P\\d{5,}')) FROM products),
               (SELECT count(*) FILTER (WHERE NOT regexp_full_match(order_id, 'O\\d{8}-\\d{6,}')) FROM orders)
        """,
        **store,
    )
    assert row == (0, 0, 0, 0, 0, 0, 0)


def test_values_are_plausible(clean):
    _, _, store = clean
    (row,) = sql(
        """
        SELECT
          (SELECT count(*) FROM order_items
           WHERE quantity::INT NOT BETWEEN 1 AND 5 OR unit_price::DOUBLE <= 0
              OR coalesce(discount::DOUBLE, 0) < 0 OR coalesce(discount::DOUBLE, 0) >= quantity::INT * unit_price::DOUBLE),
          (SELECT count(*) FROM products
           WHERE current_price::DOUBLE > base_price::DOUBLE OR cost::DOUBLE >= current_price::DOUBLE OR cost::DOUBLE < 0),
          (SELECT count(*) FROM orders
           WHERE order_ts::TIMESTAMPTZ::DATE <> day OR shipping_cost::DOUBLE < 0 OR tax::DOUBLE < 0),
          0, 0,
          (SELECT count(*) FROM customers WHERE signup_date::DATE > day OR updated_at::TIMESTAMPTZ::DATE <> day
                                             OR date_of_birth::DATE > day),
          (SELECT count(*) FROM customers WHERE country = 'US' AND state IS NULL
                                             OR country <> 'US' AND state IS NOT NULL)
        """,
        **store,
    )
    assert row == (0, 0, 0, 0, 0, 0, 0)
    # Contact fields are judged by the same libraries silver uses.
    customers = store["customers"]
    emails = [e.strip() for e in customers.column("email").to_pylist() if e]
    phones = [p.strip() for p in customers.column("phone").to_pylist() if p]
    assert [e for e in emails if check_email(e).value is None] == []
    assert [p for p in phones if check_phone(p, "US").value is None] == []


def test_data_has_the_variety_of_real_exports(clean):
    _, _, store = clean
    (row,) = sql(
        """
        SELECT
          (SELECT count(*) FROM orders WHERE ends_with(order_ts, 'Z')),
          (SELECT count(*) FROM orders WHERE regexp_full_match(order_ts, '\\S+ \\S+')),
          (SELECT count(*) FROM orders WHERE regexp_matches(order_ts, '[+-]\\d\\d:\\d\\d$')),
          (SELECT count(DISTINCT status) FROM orders),
          (SELECT count(DISTINCT payment_method) FROM orders),
          (SELECT count(DISTINCT category) FROM products),
          (SELECT count(*) FROM customers WHERE phone LIKE '+1 %'),
          (SELECT count(*) FROM customers WHERE phone LIKE '(%'),
          (SELECT count(*) FROM customers WHERE regexp_full_match(phone, '\\d{10}')),
          (SELECT count(*) FROM customers WHERE phone IS NULL),
          (SELECT count(*) FROM customers WHERE country <> 'US'),
          (SELECT avg((quantity = '1')::INT) FROM order_items),
          (SELECT count(*) FROM order_items WHERE discount::DOUBLE > 0),
          (SELECT count(DISTINCT device_type) FROM events)
        """,
        **store,
    )
    (
        z,
        naive,
        offset,
        statuses,
        payments,
        categories,
        e164,
        parens,
        digits,
        no_phone,
        abroad,
        single,
        discounted,
        devices,
    ) = row
    assert z > naive > 0 and z > offset > 0
    assert statuses == 5 and payments >= 4 and categories == 10
    assert min(e164, parens, digits, no_phone, abroad) > 0
    assert single > 0.6 and discounted > 0 and devices == 3


def test_later_days_ship_new_and_changed_records_only(clean):
    _, _, store = clean
    per_day = dict(
        (d, (c, p, s))
        for d, c, p, s in sql(
            """
            SELECT c.day, c.n, p.n, c.signups
            FROM (SELECT day, count(*) AS n, count(*) FILTER (WHERE signup_date::DATE = day) AS signups
                  FROM customers GROUP BY 1) c
            JOIN (SELECT day, count(*) AS n FROM products GROUP BY 1) p USING (day)
            """,
            **store,
        )
    )
    first_customers, first_products, _ = per_day[START]
    assert first_customers >= 300 and first_products >= 200
    for day in TWO_WEEKS[1:]:
        customers, products, signups = per_day[day]
        assert 0 < customers < first_customers / 5 and 0 < signups < customers + 1
        assert 0 < products < first_products / 10
    changed = sql("SELECT count(*) FROM (SELECT customer_id FROM customers GROUP BY 1 HAVING count(*) > 1)", **store)
    assert changed[0][0] > 0


def load_updates(root: Path) -> pa.Table:
    parts = []
    for day in TWO_WEEKS[1:]:
        table = read_csv(root / "orders" / day.isoformat() / f"order_updates_{day.isoformat()}.csv", "orders")
        parts.append(table.append_column("day", pa.array([day] * table.num_rows, pa.date32())))
    return pa.concat_tables(parts)


def test_order_updates_resend_yesterdays_open_orders_with_a_later_status(clean):
    root, _, store = clean
    updates = load_updates(root)
    now = datetime(2025, 2, 1, tzinfo=UTC)
    day = TWO_WEEKS[1]
    path = root / "orders" / day.isoformat() / f"order_updates_{day.isoformat()}.csv"
    parsed = parse_landing_file(f"orders/{day}/{path.name}", path.read_bytes())
    assert validate_batch(ENTITIES["orders"], [parsed], day, "b", now).quarantine.num_rows == 0
    # Each update is an order placed the day before, same customer and time, its status moved on by one
    # step (or returned), stamped within the update's day; a status-only update: no lines are re-sent.
    rows = sql(
        """
        SELECT u.order_id, o.status, u.status, o.customer_id = u.customer_id AND o.order_ts = u.order_ts,
               u.updated_at::TIMESTAMPTZ::DATE = u.day, u.order_id IN (SELECT order_id FROM order_items i WHERE i.day = u.day)
        FROM updates u JOIN orders o ON o.order_id = u.order_id AND o.day = u.day - 1
        """,
        updates=updates,
        orders=store["orders"],
        order_items=store["order_items"],
    )
    assert len(rows) == updates.num_rows > 50  # every update matches an order of the previous day
    allowed = {("processing", "shipped"), ("processing", "cancelled"), ("shipped", "delivered"), ("shipped", "refunded")}
    assert {(before, after) for _, before, after, *_ in rows} == allowed
    assert all(same and stamped_that_day and not relined for *_, same, stamped_that_day, relined in rows)
    # About 30% of the open orders of the day before are re-sent.
    open_orders = sql(
        f"SELECT count(*) FROM orders WHERE status IN ('processing', 'shipped') AND day < DATE '{TWO_WEEKS[-1]}'",
        orders=store["orders"],
    )[0][0]
    assert 0.2 < updates.num_rows / open_orders < 0.4


def test_popular_products_dominate(clean):
    _, _, store = clean
    shares = [
        s
        for (s,) in sql(
            "SELECT count(*) / sum(count(*)) OVER () AS share FROM order_items GROUP BY product_id ORDER BY share DESC",
            **store,
        )
    ]
    top_tenth = sum(shares[: max(1, len(shares) // 10)])
    assert top_tenth > 0.4 and shares[0] < 0.2


# --- scale and rhythm -----------------------------------------------------------------------------


def test_volumes_follow_the_requested_scale(clean):
    _, _, store = clean
    rows = sql(
        """
        SELECT l.day, l.n, e.n FROM (SELECT day, count(*) AS n FROM order_items GROUP BY 1) l
        JOIN (SELECT day, count(*) AS n FROM events GROUP BY 1) e USING (day)
        """,
        **store,
    )
    for _, lines, events in rows:
        assert 0.8 * LINES <= lines <= 1.3 * LINES
        assert 4.5 * lines <= events <= 5.5 * lines


def test_weekends_are_busier_than_midweek(clean):
    _, _, store = clean
    lines = dict(sql("SELECT day, count(*) FROM order_items GROUP BY 1", **store))
    weekend = [lines[d] for d in TWO_WEEKS if d.weekday() >= 5]
    midweek = [lines[d] for d in TWO_WEEKS if d.weekday() in (1, 2, 3)]
    assert sum(weekend) / len(weekend) > 1.15 * sum(midweek) / len(midweek)


def test_customers_come_back_across_days(clean):
    _, _, store = clean
    days_per_customer = [n for (n,) in sql("SELECT count(DISTINCT day) FROM orders GROUP BY customer_id", **store)]
    returning = sum(n >= 2 for n in days_per_customer)
    assert max(days_per_customer) >= 4
    assert returning / len(days_per_customer) > 0.2


# --- defects --------------------------------------------------------------------------------------


def observed_defects(tables: dict[str, pa.Table]) -> dict[str, int]:
    """Defects found by looking at the data, to hold against the generator's own counts."""
    required = {e: " OR ".join(f'"{c}" IS NULL' for c in ENTITIES[e].required) for e in ENTITIES}
    (row,) = sql(
        f"""
        SELECT
          (SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM customers)) FROM customers)
          + (SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM products)) FROM products)
          + (SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM orders)) FROM orders)
          + (SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM order_items)) FROM order_items)
          + (SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM events)) FROM events),
          (SELECT count(*) FROM customers WHERE NOT contains(email, '@')),
          (SELECT count(*) FROM order_items WHERE starts_with(quantity, '-') OR starts_with(unit_price, '-')),
          (SELECT count(*) FROM order_items WHERE starts_with(product_id, 'P-UNKNOWN-')),
          (SELECT count(*) FROM orders WHERE order_ts IS NOT NULL AND TRY_CAST(order_ts AS TIMESTAMPTZ) IS NULL)
          + (SELECT count(*) FROM events WHERE event_ts IS NOT NULL AND TRY_CAST(event_ts AS TIMESTAMPTZ) IS NULL),
          (SELECT count(*) FROM orders WHERE {required["orders"]})
          + (SELECT count(*) FROM order_items WHERE {required["order_items"]})
          + (SELECT count(*) FROM events WHERE {required["events"]})
        """,
        **tables,
    )
    return dict(zip(DEFECT_KINDS, row))


def test_injected_defects_are_counted_exactly():
    tables, defects, _ = generate_day(START, lines_per_day=2000, seed=4, defect_rate=0.05)
    assert all(defects[kind] > 0 for kind in DEFECT_KINDS), defects
    assert observed_defects(tables) == defects


def test_clean_data_is_the_defective_data_without_its_defects():
    clean_tables, none, _ = generate_day(START, lines_per_day=LINES, seed=4, defect_rate=0)
    dirty_tables, defects, _ = generate_day(START, lines_per_day=LINES, seed=4, defect_rate=0.05)
    assert none == dict.fromkeys(DEFECT_KINDS, 0)
    assert observed_defects(clean_tables) == none
    assert sum(dirty_tables[e].num_rows - clean_tables[e].num_rows for e in ENTITIES) == defects["duplicate_rows"]
    untouched = dirty_tables["events"].slice(0, clean_tables["events"].num_rows)
    changed_rows = sum(a != b for a, b in zip(untouched.to_pylist(), clean_tables["events"].to_pylist()))
    assert 0 < changed_rows < 0.1 * clean_tables["events"].num_rows


@pytest.mark.parametrize("rate", [0.01, 0.04])
def test_defects_are_proportional_to_the_rate(rate):
    tables, defects, _ = generate_day(START, lines_per_day=5000, seed=8, defect_rate=rate)
    rows = sum(t.num_rows for t in tables.values())
    clean_rows = rows - defects["duplicate_rows"]
    assert sum(defects.values()) == pytest.approx(rate * clean_rows, rel=0.2)
    for kind in DEFECT_KINDS:
        assert defects[kind] > 0


def test_defective_csv_still_parses_row_for_row(tmp_path):
    summary = generate_store(tmp_path, START, START, lines_per_day=LINES, seed=6, defect_rate=0.1)
    assert sum(summary.defects.values()) > 0
    for path in summary.files:
        parsed = parse_landing_file(path.name, path.read_bytes())
        assert parsed.rejects.num_rows == 0
        assert parsed.records.num_rows == summary.rows[path.parent.parent.name]
