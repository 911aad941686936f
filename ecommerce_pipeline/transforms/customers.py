"""customers_clean: every version of every customer (type-2 history), cleaned.

E-mails and phones are cleaned by ``field_quality.clean_fields`` (an invalid one is null, the customer
stays). Missing optional values get the contract's defaults.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from ecommerce_pipeline.contract import CUSTOMERS
from ecommerce_pipeline.transforms.dimensions import DimensionResult, merge_versions
from ecommerce_pipeline.transforms.field_quality import clean_fields
from ecommerce_pipeline.transforms.sql import trim

_t = {
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
# Each stored column as a SQL expression over the bronze row (after clean_fields).
CLEANED_COLUMNS = {
    "customer_id": "customer_id",
    "email": _t["email"],
    "first_name": _t["first_name"],
    "last_name": _t["last_name"],
    "phone": "phone",
    "date_of_birth": "date_of_birth",
    "gender": f"coalesce(lower({_t['gender']}), 'unknown')",
    "city": f"coalesce({_t['city']}, 'unknown')",
    "state": _t["state"],
    "country": f"coalesce({_t['country']}, 'unknown')",
    "postal_code": _t["postal_code"],
    "signup_date_reported": "signup_date",
    "customer_segment": f"coalesce(lower({_t['customer_segment']}), 'standard')",
    "is_active": "coalesce(is_active, true)",
    "updated_at": "coalesce(updated_at, CAST(business_date AS TIMESTAMPTZ))",
    "region": f"coalesce(NULLIF({_t['state']}, ''), NULLIF({_t['country']}, ''), 'unknown')",
}
# Computed over every version of a customer (merge_versions).
DERIVED_COLUMNS = {"signup_date": "coalesce(signup_date_reported, first_landing_date)"}


def customers_clean(
    bronze: pa.Table,
    history: pa.Table | None,
    days: list[date],
    default_country: str = "US",
    fields_cleaned: bool = False,
) -> DimensionResult:
    """The stored customer versions with the bronze customer rows of ``days`` merged in.

    ``fields_cleaned``: the rows already went through ``field_quality.clean_fields`` (the silver step does
    that itself, to keep the field issues it finds)."""
    # Field-level quality: invalid e-mails and phones become null, the record stays (issues: field_quality).
    if not fields_cleaned:
        bronze = clean_fields(CUSTOMERS, bronze, default_country).table
    return merge_versions(bronze, history, days, "customer_id", CLEANED_COLUMNS, [], DERIVED_COLUMNS)
