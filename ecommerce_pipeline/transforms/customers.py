"""customers_clean: every version of every customer (type-2 history), cleaned.

E-mails are trimmed, lower-cased and must be valid where present; phones are normalised to E.164
using a default country for national numbers. Missing optional values get the contract's defaults.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from ecommerce_pipeline.transforms.dimensions import DimensionResult, merge_versions
from ecommerce_pipeline.transforms.sql import trim

EMAIL_PATTERN = r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"
E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"

# Calling codes for the default-country setting; national numbers elsewhere need a leading "+".
CALLING_CODES = {
    "US": "1",
    "CA": "1",
    "GB": "44",
    "IE": "353",
    "DE": "49",
    "FR": "33",
    "ES": "34",
    "IT": "39",
    "NL": "31",
    "BE": "32",
    "PT": "351",
    "BR": "55",
    "MX": "52",
    "AU": "61",
    "NZ": "64",
    "IN": "91",
    "JP": "81",
    "SE": "46",
    "NO": "47",
    "DK": "45",
    "PL": "48",
    "CH": "41",
    "AT": "43",
    "ZA": "27",
}


def phone_e164_sql(column: str, calling_code: str) -> str:
    """SQL normalising a phone number to E.164, or NULL when that is impossible."""
    raw = trim(column)
    digits = f"regexp_replace({raw}, '[^0-9]', '', 'g')"
    national = (
        f"CASE WHEN length({digits}) = 11 AND starts_with({digits}, '1') THEN '+' || {digits} ELSE '+1' || {digits} END"
        if calling_code == "1"
        else f"'+{calling_code}' || regexp_replace({digits}, '^0', '')"
    )
    candidate = (
        f"CASE WHEN starts_with({raw}, '+') THEN '+' || {digits} "
        f"WHEN starts_with({raw}, '00') THEN '+' || substr({digits}, 3) "
        f"ELSE {national} END"
    )
    return f"CASE WHEN regexp_full_match({candidate}, '{E164_PATTERN}') THEN {candidate} END"


def customers_clean(
    bronze: pa.Table, history: pa.Table | None, days: list[date], default_country: str = "US"
) -> DimensionResult:
    """The stored customer versions with the bronze customer rows of ``days`` merged in."""
    calling_code = CALLING_CODES.get(default_country.upper())
    if calling_code is None:
        raise ValueError(
            f"unknown default phone country {default_country!r}; known: {', '.join(sorted(CALLING_CODES))}"
        )
    t = {
        c: trim(c)
        for c in (
            "email",
            "first_name",
            "last_name",
            "gender",
            "city",
            "state",
            "country",
            "postal_code",
            "customer_segment",
        )
    }
    email = f"lower({t['email']})"
    phone = phone_e164_sql("phone", calling_code)
    columns = {
        "customer_id": "customer_id",
        "email": email,
        "first_name": t["first_name"],
        "last_name": t["last_name"],
        "phone": phone,
        "date_of_birth": "date_of_birth",
        "gender": f"coalesce(lower({t['gender']}), 'unknown')",
        "city": f"coalesce({t['city']}, 'unknown')",
        "state": t["state"],
        "country": f"coalesce({t['country']}, 'unknown')",
        "postal_code": t["postal_code"],
        "signup_date_reported": "signup_date",
        "customer_segment": f"coalesce(lower({t['customer_segment']}), 'standard')",
        "is_active": "coalesce(is_active, true)",
        "updated_at": "coalesce(updated_at, CAST(business_date AS TIMESTAMPTZ))",
        "region": f"coalesce(NULLIF({t['state']}, ''), NULLIF({t['country']}, ''), 'unknown')",
    }
    checks = [
        f"CASE WHEN email IS NOT NULL AND NOT regexp_full_match({email}, $email_pattern) "
        "THEN 'invalid_email: email is not a valid address' END",
        f"CASE WHEN phone IS NOT NULL AND {phone} IS NULL THEN 'invalid_phone: phone cannot be normalised to E.164' END",
    ]
    derived = {"signup_date": "coalesce(signup_date_reported, first_landing_date)"}
    return merge_versions(
        bronze, history, days, "customer_id", columns, checks, derived, {"email_pattern": EMAIL_PATTERN}
    )
