from datetime import date

import pyarrow as pa
import pytest

from ecommerce_pipeline.transforms.customers import customers_clean

from .conftest import bronze

D1, D2 = date(2025, 1, 1), date(2025, 1, 2)


def by_id(table, day):
    return {r["customer_id"]: r for r in table.to_pylist() if r["business_date"] == day}


def test_email_is_trimmed_lowercased_and_validated():
    history = bronze(
        "customers", [{"customer_id": "C1", "email": "  Ann@Example.COM "}, {"customer_id": "C2", "email": "nope"}]
    )
    result = customers_clean(history, [D1])
    assert by_id(result.table, D1)["C1"]["email"] == "ann@example.com"
    # An invalid e-mail costs the value, not the customer (the issue is in quarantine.field_issues).
    assert by_id(result.table, D1)["C2"]["email"] is None
    assert result.quarantine.num_rows == 0


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
    result = customers_clean(bronze("customers", [{"customer_id": "C1", "phone": raw}]), [D1], country)
    assert by_id(result.table, D1)["C1"]["phone"] == expected


def test_unnormalisable_phone_is_set_to_null_and_the_customer_kept():
    result = customers_clean(bronze("customers", [{"customer_id": "C1", "phone": "12"}]), [D1])
    assert by_id(result.table, D1)["C1"]["phone"] is None
    assert result.quarantine.num_rows == 0


def test_defaults_fill_sparse_records():
    result = customers_clean(bronze("customers", [{"customer_id": "C1", "country": "BR"}]), [D1])
    row = by_id(result.table, D1)["C1"]
    assert (row["gender"], row["city"], row["customer_segment"], row["is_active"]) == (
        "unknown",
        "unknown",
        "standard",
        True,
    )
    assert row["signup_date"] == D1 and row["region"] == "BR"


def test_latest_version_as_of_each_day_and_first_seen_signup():
    history = pa.concat_tables(
        [
            bronze("customers", [{"customer_id": "C1", "email": "old@x.com", "state": "CA"}], D1),
            bronze(
                "customers",
                [
                    {"customer_id": "C1", "email": "mid@x.com", "state": "NY"},
                    {"customer_id": "C1", "email": "new@x.com", "state": "TX"},
                    {"customer_id": "C2", "email": "c2@x.com"},
                ],
                D2,
            ),
        ]
    )
    result = customers_clean(history, [D1, D2])
    assert by_id(result.table, D1)["C1"]["email"] == "old@x.com"
    assert set(by_id(result.table, D1)) == {"C1"}
    day2 = by_id(result.table, D2)
    assert day2["C1"]["email"] == "new@x.com" and day2["C1"]["region"] == "TX"
    assert day2["C1"]["signup_date"] == D1 and day2["C1"]["version_date"] == D2
    assert result.duplicates == 1


def test_a_new_version_with_an_invalid_email_is_applied_without_the_email():
    history = pa.concat_tables(
        [
            bronze("customers", [{"customer_id": "C1", "email": "good@x.com"}], D1),
            bronze("customers", [{"customer_id": "C1", "email": "broken"}], D2),
        ]
    )
    result = customers_clean(history, [D2])
    assert by_id(result.table, D2)["C1"]["email"] is None
    assert by_id(result.table, D2)["C1"]["version_date"] == D2 and result.quarantine.num_rows == 0


def test_unknown_default_country_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown default phone country"):
        customers_clean(bronze("customers", [{"customer_id": "C1"}]), [D1], "XX")
