from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from ecommerce_pipeline.transforms.customers import customers_clean

from .conftest import bronze

D1, D2 = date(2025, 1, 1), date(2025, 1, 2)
MIDNIGHT_D2 = datetime(2025, 1, 2, tzinfo=UTC)


def only(result, customer_id="C1"):
    (row,) = [r for r in result.history.to_pylist() if r["customer_id"] == customer_id]
    return row


def versions(history: pa.Table, *columns: str) -> list[tuple]:
    return [tuple(r[c] for c in columns) for r in history.to_pylist()]


def test_email_is_trimmed_lowercased_and_validated():
    rows = [{"customer_id": "C1", "email": "  Ann@Example.COM "}, {"customer_id": "C2", "email": "nope"}]
    result = customers_clean(bronze("customers", rows), None, [D1])
    assert result.history.column("customer_id").to_pylist() == ["C1"]
    assert only(result)["email"] == "ann@example.com"
    (q,) = result.quarantine.to_pylist()
    assert q["rule"] == "invalid_email" and q["_source_row"] == 3 and q["business_date"] == D1
    assert (result.received, result.versions_added) == (2, 1)


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


def test_unnormalisable_phone_is_quarantined():
    result = customers_clean(bronze("customers", [{"customer_id": "C1", "phone": "12"}]), None, [D1])
    assert result.history.num_rows == 0
    assert result.quarantine.column("rule").to_pylist() == ["invalid_phone"]


def test_defaults_fill_sparse_records():
    row = only(customers_clean(bronze("customers", [{"customer_id": "C1", "country": "BR"}]), None, [D1]))
    assert (row["gender"], row["city"], row["customer_segment"], row["is_active"]) == ("unknown", "unknown", "standard", True)
    assert row["signup_date"] == D1 and row["region"] == "BR"
    # No updated_at: the version applies from midnight UTC of its landing day, and is the current one.
    assert (row["valid_from"], row["valid_to"], row["is_current"]) == (datetime(2025, 1, 1, tzinfo=UTC), None, True)


def test_every_change_is_a_version_with_its_validity_and_the_first_landing_day_is_the_signup():
    first = customers_clean(bronze("customers", [{"customer_id": "C1", "email": "old@x.com", "state": "CA"}], D1), None, [D1])
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


def test_invalid_new_version_keeps_the_previous_valid_one():
    first = customers_clean(bronze("customers", [{"customer_id": "C1", "email": "good@x.com"}], D1), None, [D1])
    result = customers_clean(bronze("customers", [{"customer_id": "C1", "email": "broken"}], D2), first.history, [D2])
    assert versions(result.history, "email", "is_current") == [("good@x.com", True)]
    assert result.quarantine.column("business_date").to_pylist() == [D2]
    assert result.changes.num_rows == 0


def test_unknown_default_country_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown default phone country"):
        customers_clean(bronze("customers", [{"customer_id": "C1"}]), None, [D1], "XX")
