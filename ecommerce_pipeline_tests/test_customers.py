from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from ecommerce_pipeline.contract import CUSTOMERS
from ecommerce_pipeline.transforms.customers import customers_clean
from ecommerce_pipeline.transforms.field_quality import clean_fields

from .conftest import bronze

D1, D2 = date(2025, 1, 1), date(2025, 1, 2)
MIDNIGHT_D2 = datetime(2025, 1, 2, tzinfo=UTC)


def only(result, customer_id="C1"):
    (row,) = [r for r in result.history.to_pylist() if r["customer_id"] == customer_id]
    return row


def versions(history: pa.Table, *columns: str) -> list[tuple]:
    return [tuple(r[c] for c in columns) for r in history.to_pylist()]


def field_issues(rows: pa.Table, country: str = "US") -> list[tuple]:
    """The field issues the silver step records for these bronze rows (what quarantine.field_issues gets)."""
    issues = clean_fields(CUSTOMERS, rows, country).issues
    return versions(issues, "entity_key", "column_name", "raw_value", "rule", "_source_file", "_source_row")


def test_email_is_trimmed_lowercased_and_validated():
    rows = bronze(
        "customers", [{"customer_id": "C1", "email": "  Ann@Example.COM "}, {"customer_id": "C2", "email": "nope"}]
    )
    result = customers_clean(rows, None, [D1])
    assert only(result)["email"] == "ann@example.com"
    # An invalid e-mail costs the value, never the customer: it is a field issue, not a quarantined record.
    assert only(result, "C2")["email"] is None
    assert result.quarantine.num_rows == 0
    assert (result.received, result.versions_added) == (2, 2)
    assert field_issues(rows) == [("C2", "email", "nope", "invalid_email", "customers/2025-01-01/customers.csv", 3)]


@pytest.mark.parametrize(
    "raw, country, expected",
    [
        ("(555) 123-4567", "US", "+15551234567"),
        ("1-555-123-4567", "US", "+15551234567"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_phone_is_normalised_to_e164(raw, country, expected):
    result = customers_clean(bronze("customers", [{"customer_id": "C1", "phone": raw}]), None, [D1], country)
    assert only(result)["phone"] == expected


def test_unnormalisable_phone_is_nulled_and_recorded_and_the_customer_kept():
    rows = bronze("customers", [{"customer_id": "C1", "phone": "12", "state": "CA"}])
    result = customers_clean(rows, None, [D1])
    assert (only(result)["phone"], only(result)["region"], only(result)["is_current"]) == (None, "CA", True)
    assert result.quarantine.num_rows == 0
    assert field_issues(rows) == [("C1", "phone", "12", "invalid_phone", "customers/2025-01-01/customers.csv", 2)]


def test_defaults_fill_sparse_records():
    row = only(customers_clean(bronze("customers", [{"customer_id": "C1", "country": "BR"}]), None, [D1]))
    assert (row["gender"], row["city"], row["customer_segment"], row["is_active"]) == (
        "unknown",
        "unknown",
        "standard",
        True,
    )
    assert row["signup_date"] == D1 and row["region"] == "BR"
    # No updated_at: the version applies from midnight UTC of its landing day, and is the current one.
    assert (row["valid_from"], row["valid_to"], row["is_current"]) == (datetime(2025, 1, 1, tzinfo=UTC), None, True)


def test_every_change_is_a_version_with_its_validity_and_the_first_landing_day_is_the_signup():
    first = customers_clean(
        bronze("customers", [{"customer_id": "C1", "email": "old@x.com", "state": "CA"}], D1), None, [D1]
    )
    day2 = [
        {"customer_id": "C1", "email": "mid@x.com", "state": "NY"},
        {"customer_id": "C1", "email": "new@x.com", "state": "TX"},
        {"customer_id": "C2", "email": "c2@x.com"},
    ]
    result = customers_clean(bronze("customers", day2, D2), first.history, [D2])
    assert versions(result.history, "customer_id", "email", "region", "valid_from", "valid_to", "is_current") == [
        ("C1", "old@x.com", "CA", datetime(2025, 1, 1, tzinfo=UTC), MIDNIGHT_D2, False),
        # two versions at the same time: file then row decide; the earlier one never applied
        ("C1", "mid@x.com", "NY", MIDNIGHT_D2, MIDNIGHT_D2, False),
        ("C1", "new@x.com", "TX", MIDNIGHT_D2, None, True),
        ("C2", "c2@x.com", "unknown", MIDNIGHT_D2, None, True),
    ]
    assert set(result.history.column("signup_date").to_pylist()) == {D1, D2}
    assert only(result, "C2")["signup_date"] == D2
    assert all(r["signup_date"] == D1 for r in result.history.to_pylist() if r["customer_id"] == "C1")
    assert (result.received, result.versions_added) == (3, 3)
    # What facts may now see another version: C1 from D2 on, C2 always (its first version).
    assert set(versions(result.changes, "key", "from_ts", "to_ts")) == {
        ("C1", MIDNIGHT_D2, MIDNIGHT_D2),
        ("C1", MIDNIGHT_D2, None),
        ("C2", None, None),
    }
    assert result.changes.num_rows == 3


def test_updated_at_orders_versions_whatever_day_they_arrive():
    first = bronze("customers", [{"customer_id": "C1", "state": "CA", "updated_at": "2025-01-01T12:00:00Z"}], D1)
    late = bronze("customers", [{"customer_id": "C1", "state": "OR", "updated_at": "2025-01-01T06:00:00Z"}], D2)
    in_order = customers_clean(late, customers_clean(first, None, [D1]).history, [D2])
    reversed_ = customers_clean(first, customers_clean(late, None, [D2]).history, [D1])
    six, noon = datetime(2025, 1, 1, 6, tzinfo=UTC), datetime(2025, 1, 1, 12, tzinfo=UTC)
    expected = [("OR", six, noon, False), ("CA", noon, None, True)]
    assert versions(in_order.history, "region", "valid_from", "valid_to", "is_current") == expected
    assert versions(reversed_.history, "region", "valid_from", "valid_to", "is_current") == expected


def test_rerunning_a_day_replaces_its_versions():
    day1 = bronze("customers", [{"customer_id": "C1", "state": "CA"}], D1)
    day2 = bronze("customers", [{"customer_id": "C1", "state": "NY"}], D2)
    history = customers_clean(day2, customers_clean(day1, None, [D1]).history, [D2]).history
    again = customers_clean(day2, history, [D2]).history
    assert again.equals(history) and history.num_rows == 2
    # D2 re-run with a file that no longer has C1: its version goes, D1's is current again.
    emptied = customers_clean(day2.slice(0, 0), history, [D2]).history
    assert versions(emptied, "region", "valid_to", "is_current") == [("CA", None, True)]


def test_a_new_version_with_an_invalid_email_is_applied_without_the_email():
    first = customers_clean(bronze("customers", [{"customer_id": "C1", "email": "good@x.com"}], D1), None, [D1])
    day2 = bronze("customers", [{"customer_id": "C1", "email": "broken", "state": "NY"}], D2)
    result = customers_clean(day2, first.history, [D2])
    # The rest of the new version (the move to NY) applies; only the e-mail is lost, and recorded.
    assert versions(result.history, "email", "region", "is_current") == [
        ("good@x.com", "unknown", False),
        (None, "NY", True),
    ]
    assert result.quarantine.num_rows == 0
    assert set(versions(result.changes, "key", "from_ts")) == {("C1", MIDNIGHT_D2)}
    assert field_issues(day2) == [("C1", "email", "broken", "invalid_email", "customers/2025-01-02/customers.csv", 2)]


def test_unknown_default_country_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown default phone country"):
        customers_clean(bronze("customers", [{"customer_id": "C1"}]), None, [D1], "XX")


def _sorted(history: pa.Table) -> list[dict]:
    return sorted(
        history.to_pylist(), key=lambda r: (r["customer_id"], r["valid_from"], r["landing_date"], r["_source_row"])
    )


def test_a_night_merges_only_the_keys_it_touches_and_gives_the_full_merge():
    """A night re-merges only the customers it brings a version of (or whose versions a re-run replaces); the
    history must equal merging every landing day's rows from nothing, in any order of days, re-runs included."""
    days = [date(2025, 1, d) for d in range(1, 6)]
    regions = ["CA", "NY", "TX", "WA"]

    def day_rows(i: int, day: date) -> pa.Table:
        rows = [
            {
                "customer_id": f"C{(i * 7 + n * 3) % 23}",
                "state": regions[(i + n) % 4],
                "country": "US",
                "email": f"c{n}@example.com",
                "updated_at": f"{day}T{(n * 5) % 24:02d}:00:00Z" if n % 3 else "",
            }
            for n in range(9)
        ]
        return bronze("customers", rows, day, f"customers/{day}/customers.csv")

    rows = {d: day_rows(i, d) for i, d in enumerate(days)}
    everything = customers_clean(pa.concat_tables(list(rows.values())), None, days)
    for order in (days, days[::-1], [days[2], days[0], days[4], days[1], days[3], days[0]]):
        history = None
        for d in order:
            history = customers_clean(rows[d], history, [d]).history
        assert _sorted(history) == _sorted(everything.history)
    # A re-run that brings different rows for a day replaces that day's versions only.
    changed = day_rows(9, days[2])
    again = customers_clean(changed, history, [days[2]]).history
    expected = customers_clean(pa.concat_tables([rows[d] for d in days if d != days[2]] + [changed]), None, days)
    assert _sorted(again) == _sorted(expected.history)


def test_a_day_without_customer_files_keeps_the_history_as_stored():
    """A night with no customers file adds and replaces nothing: the history comes back as stored (the same
    rows the full merge of the landed days gives), with no changes for the orders step and no quarantine."""
    day1 = bronze("customers", [{"customer_id": "C1", "state": "CA"}, {"customer_id": "C2", "state": "NY"}], D1)
    stored = customers_clean(day1, None, [D1]).history
    result = customers_clean(day1.slice(0, 0), stored, [D2])
    assert result.history.equals(stored)
    assert (result.changes.num_rows, result.quarantine.num_rows, result.received, result.versions_added) == (0,) * 4
    assert result.changes.schema == customers_clean(day1, stored, [D1]).changes.schema
    # A history stored before a column existed is merged again in full, and gains the column.
    older = stored.drop_columns(["signup_date"])
    assert customers_clean(day1.slice(0, 0), older, [D2]).history.column("signup_date").to_pylist() == [D1, D1]
