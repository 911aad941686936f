from datetime import date, timedelta

import pyarrow as pa

from ecommerce_pipeline.transforms.events import counted, merge_events, new_events

from .conftest import DAY, STORE, bronze

D2 = date(2025, 1, 2)


def clean(rows, day=DAY, stored=None, timezone="UTC"):
    return merge_events(stored, new_events(bronze("events", rows, day), timezone), [day])


def test_events_are_deduplicated_and_numbered_within_sessions():
    table = clean(STORE["events"])
    rows = table.to_pylist()
    # Rows are stored by date, session and time; copies of one event share a time, so their order is free.
    assert sorted((r["session_id"], r["event_seq"] or 99, r["event_id"], r["is_duplicate"]) for r in rows) == [
        ("S1", 1, "E1", False),
        ("S1", 2, "E2", False),
        ("S1", 3, "E3", False),
        ("S1", 4, "E4", False),
        ("S1", 99, "E4", True),  # the second copy is kept, flagged, not numbered (event_seq null)
        ("S2", 1, "E5", False),
        ("S2", 2, "E6", False),
    ]
    assert {r["event_id"]: r["device_type"] for r in rows if r["session_id"] == "S1"} == {
        "E1": "mobile",
        "E2": "unknown",
        "E3": "unknown",
        "E4": "unknown",
    }
    assert [r["event_seq"] for r in rows if r["is_duplicate"]] == [None]
    assert counted(table).num_rows == 6
    assert set(table.column("business_date").to_pylist()) == {DAY} == set(table.column("landing_date").to_pylist())


def test_out_of_order_arrival_is_numbered_by_time():
    shuffled = [STORE["events"][2], STORE["events"][0], STORE["events"][5], STORE["events"][1]]
    rows = clean(shuffled).to_pylist()
    assert {r["event_id"]: r["event_seq"] for r in rows} == {"E3": 3, "E1": 1, "E5": 1, "E2": 2}


def test_the_first_landed_copy_of_a_duplicate_counts():
    first = {**STORE["events"][0], "page_url": "/first"}
    second = {**STORE["events"][0], "page_url": "/second"}
    table = clean([first, STORE["events"][1], second])
    assert [(r["event_id"], r["page_url"]) for r in counted(table).to_pylist()] == [("E1", "/first"), ("E2", None)]
    assert [r["page_url"] for r in table.to_pylist() if r["is_duplicate"]] == ["/second"]


def test_events_are_dated_in_the_store_time_zone():
    late = {**STORE["events"][0], "event_ts": "2025-01-02T02:00:00Z"}  # 21:00 on 1 January in New York
    assert clean([late]).column("business_date").to_pylist() == [D2]
    assert clean([late], timezone="America/New_York").column("business_date").to_pylist() == [DAY]


def test_a_copy_resent_on_a_later_day_is_a_duplicate_and_rerunning_a_day_replaces_it():
    day1 = clean(STORE["events"][:3])
    resent = [STORE["events"][2], {**STORE["events"][3], "event_ts": "2025-01-01T09:04:00Z"}]
    both = merge_events(day1, new_events(bronze("events", resent, D2)), [D2])
    assert sorted(
        (r["event_id"], r["landing_date"], r["is_duplicate"], r["event_seq"] or 99) for r in both.to_pylist()
    ) == [
        ("E1", DAY, False, 1),
        ("E2", DAY, False, 2),
        ("E3", DAY, False, 3),
        ("E3", D2, True, 99),
        ("E4", D2, False, 4),
    ]
    again = merge_events(both, new_events(bronze("events", resent, D2)), [D2])
    order = [("landing_date", "ascending"), ("_source_row", "ascending")]
    assert again.sort_by(order).equals(both.sort_by(order)) and again.num_rows == 5
    # Day 1 re-run without E3: the day-2 copy is now the first one and counts.
    rerun = merge_events(both, new_events(bronze("events", STORE["events"][:2], DAY)), [DAY])
    assert sorted((r["event_id"], r["landing_date"], r["is_duplicate"]) for r in rerun.to_pylist()) == [
        ("E1", DAY, False),
        ("E2", DAY, False),
        ("E3", D2, False),
        ("E4", D2, False),
    ]


def test_missing_and_blank_devices_and_countries_get_defaults():
    from ecommerce_pipeline.transforms.events import _default

    column = pa.chunked_array([["Mobile", None, " tablet\t", ""], ["DESKTOP", None], []], pa.string())
    assert _default(column, "unknown", lower=True).to_pylist() == [
        "mobile", "unknown", "tablet", "unknown", "desktop", "unknown",
    ]  # fmt: skip
    countries = clean(STORE["events"]).column("country").to_pylist()
    assert set(countries) == {"unknown"}


def test_the_merge_gives_the_rows_and_order_of_its_sql_statement():
    """merge_events sorts keys and moves rows by position; MERGE_SQL, run whole by DuckDB, is its meaning.
    Random days of three files each, with copies of events within a day and across days, some landing days
    re-run."""
    import random

    from ecommerce_pipeline.transforms.events import MERGE_SQL, OUTPUT_COLUMNS
    from ecommerce_pipeline.transforms.sql import query

    rng = random.Random(7)
    days = [date(2025, 1, d) for d in range(1, 6)]

    def landing(day, n):
        rows = []
        for i in range(n):
            event = rng.randrange(60)  # few ids: many copies, within the day and across days
            rows.append(
                {
                    "event_id": f"E{event}",
                    "session_id": f"S{rng.randrange(8)}",
                    "event_type": rng.choice(["page_view", "add_to_cart"]),
                    # the landing day or the day before: an event resent later lands on its own date
                    "event_ts": f"{day - timedelta(rng.randrange(2))}T{rng.randrange(24):02d}:{rng.randrange(3):02d}:00Z",
                    "customer_id": "C1",
                    "product_id": "P1",
                    "page_url": f"/p/{i}",
                    "device_type": rng.choice(["mobile", "", None]),
                    "country": "DE",
                }
            )
        rows += [dict(row) for row in rng.sample(rows, n // 4)]  # the same event sent again, in any file
        # In files whose names sort (by bytes) otherwise than they are listed: the file decides among copies.
        files = [f"events/{day}/{name}" for name in ("b.csv", "ä.csv", "A.csv")]
        parts = [bronze("events", rows[i::3], day, name=files[i]) for i in range(3)]
        return new_events(pa.concat_tables(parts))

    stored = None
    for day in days:
        stored = merge_events(stored, landing(day, 80), [day])
    rerun = pa.concat_tables([landing(days[1], 50), landing(days[3], 40)])
    merged = merge_events(stored, rerun, [days[1], days[3]])
    expected = query(
        f"SELECT {', '.join(OUTPUT_COLUMNS)} FROM ({MERGE_SQL})",
        stored=stored,
        incoming=rerun,
        days=pa.table({"day": pa.array([days[1], days[3]], pa.date32())}),
    )
    assert merged.num_rows == expected.num_rows == stored.num_rows - 100 - 100 + 50 + 12 + 40 + 10
    assert merged.to_pylist() == expected.to_pylist()
    assert pc_sum(merged.column("is_duplicate")) > 50  # the ids repeat: copies were flagged


def pc_sum(column) -> int:
    import pyarrow.compute as pc

    return int(pc.sum(column).as_py())
