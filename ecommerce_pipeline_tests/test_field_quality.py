"""Field-level quality (transforms/field_quality.py): the issue's examples, on the pure function and through
Dagster with another default phone region."""

from __future__ import annotations

import dagster as dg
import pyarrow.compute as pc
import pytest

from ecommerce_pipeline.contract import CUSTOMERS
from ecommerce_pipeline.defs.bronze.assets import bronze_assets
from ecommerce_pipeline.defs.resources import resources_for
from ecommerce_pipeline.defs.silver.assets import customers_clean
from ecommerce_pipeline.quality.schemas import check_schema
from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.lake import LocalLake
from ecommerce_pipeline.storage.tables import local_table_store
from ecommerce_pipeline.transforms import field_quality
from ecommerce_pipeline.transforms.field_quality import check_email, check_phone, clean_fields

from .conftest import DAY, bronze


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 (0)20 7946 0958", "US", "+442079460958"),  # the national trunk 0 in brackets is not a digit
        ("06 6982 1234", "IT", "+390669821234"),  # Italy keeps the leading 0 after the country code
        ("212-555-0100 ext. 12", "US", "+12125550100"),  # the extension is not part of E.164
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("(555) 123-4567", "US", "+15551234567"),
    ],
)
def test_phones_are_normalised_with_the_library(raw, region, expected):
    assert check_phone(raw, region).value == expected


def test_an_extension_is_recorded_when_removed():
    verdict = check_phone("212-555-0100 ext. 12", "US")
    assert verdict.rule == "phone_extension_removed" and "12" in verdict.detail


@pytest.mark.parametrize("raw", ["12", "not a phone", "+1 212"])
def test_impossible_phones_are_invalid(raw):
    assert check_phone(raw, "US") == field_quality.Verdict(None, "invalid_phone", check_phone(raw, "US").detail)


@pytest.mark.parametrize(("raw", "valid"), [("a..b@x.com", False), (".a@x.com", False), ("ann@exämple.com", True)])
def test_emails_are_checked_for_syntax_only(raw, valid):
    assert (check_email(raw).value is not None) is valid


def test_each_distinct_value_is_checked_once(monkeypatch):
    calls = []
    monkeypatch.setattr(field_quality, "check_email", lambda v: calls.append(v) or field_quality.Verdict(v))
    rows = bronze("customers", [{"customer_id": f"C{i}", "email": "séme@x.com"} for i in range(50)])
    clean_fields(CUSTOMERS, rows, "US")
    assert calls == ["séme@x.com"]  # a plain ASCII address would not reach the library at all (see below)


def _numbers(rng, count: int) -> list[str]:
    formats = [
        "+1 {a} {b} {c}", "({a}) {b}-{c}", "{a}{b}{c}", "1-{a}-{b}-{c}", "+44 (0)20 {b}{d} {c}", "+44 7{d}{b} {c}",
        "0044 20 {b} {c}", "+39 06 {b}{d} {c}", "+39 3{d}{b}{c}", "+49 30 {b}{c}", "+55 11 9{b}{c}",
        "+54 9 11 {b}-{c}", "+52 1 55 {b} {c}", "+353 1 {b} {c}", "+61 4{d}{b} {c}", "{b}-{c}", "+1 {a} {b}",
    ]  # fmt: skip
    out = []
    for i in range(count):
        # Few area codes: groups of numbers written alike, so the grouped path is taken, not the fallback.
        a, b, c, d = rng.choice([212, 555, 415]), rng.integers(200, 999), rng.integers(0, 9999), rng.choice([12, 34])
        out.append(formats[i % len(formats)].format(a=a, b=b, c=f"{c:04d}", d=d))
    return out


@pytest.mark.parametrize("region", ["US", "GB", "IT", "BR"])
def test_grouped_phone_verdicts_equal_the_library_one_number_at_a_time(region):
    import numpy as np
    import pyarrow as pa

    numbers = sorted(set(_numbers(np.random.default_rng(7), 4000)))
    # Groups of numbers written alike the library rejects, and numbers with characters beyond ASCII (full-width
    # and Arabic-Indic digits, a telephone sign) alone and in groups of their own.
    numbers += [f"{d}-{n:04d}" for d in ("555", "12") for n in range(6)]
    numbers += [f"+1 ２１２ 555 {n:04d}" for n in range(5)] + [f"☎ +44 20 7946 {n:04d}" for n in range(5)]
    numbers += ["+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨", "0044 20 7946 0958 ext. 7"]
    clean, rules, details = field_quality.phone_verdicts(pa.array(numbers), region)
    one_by_one = [check_phone(n, region) for n in numbers]
    assert clean.to_pylist() == [v.value for v in one_by_one]
    assert rules.to_pylist() == [v.rule for v in one_by_one]
    assert details.to_pylist() == [v.detail for v in one_by_one]


def test_digits_are_masked_and_kept_as_the_regular_expressions_do():
    import pyarrow as pa

    texts = pa.array(["+1 (212) 555-0100", "２１２-555", "☎0٤4", None, "", "éé9é", "0044 20"] * 3)
    # A slice starts inside the data buffer; a pandas column of Arrow strings converts to chunks.
    for values in (texts, texts.slice(5, 9), pa.chunked_array([texts.slice(0, 4), texts.slice(4)])):
        masked = field_quality._ascii_digits_masked(values)
        assert masked.to_pylist() == pc.replace_substring_regex(values, "[0-9]", "#").to_pylist()
        digits = field_quality._ascii_digits_only(values)
        assert digits.to_pylist() == pc.replace_substring_regex(values, "[^0-9]", "").to_pylist()
        digits.validate(full=True)


def test_plain_email_verdicts_equal_the_library():
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(3)
    parts = ["ann", "b.c", "x_y", "o+tag", "-d", "e-", "1", "Zed", "a..b", ".a", "q.", "ü"]
    domains = ["example.com", "x.co.uk", "a-b.io", "-x.com", "x-.com", "mail.local", "b.c0m", "xn--bcher-kva.com", "c"]
    emails = sorted({f"{rng.choice(parts)}{rng.choice(parts)}@{rng.choice(domains)}" for _ in range(3000)})
    clean, rules, details = field_quality.email_verdicts(pa.array(emails))
    one_by_one = [check_email(e) for e in emails]
    assert clean.to_pylist() == [v.value for v in one_by_one]
    assert rules.to_pylist() == [v.rule for v in one_by_one]
    assert details.to_pylist() == [v.detail for v in one_by_one]


def test_the_pure_function_nulls_and_records_without_dropping_rows():
    rows = bronze(
        "customers",
        [
            {"customer_id": "C1", "email": "a..b@x.com", "phone": "12", "date_of_birth": "2099-01-01"},
            {"customer_id": "C2", "email": "ok@x.com", "phone": "+1 212 555 0100"},
        ],
    )
    result = clean_fields(CUSTOMERS, rows, "US")
    assert result.table.num_rows == rows.num_rows
    assert result.table.column("email").to_pylist() == [None, "ok@x.com"]
    assert result.table.column("phone").to_pylist() == [None, "+12125550100"]
    got = sorted(
        zip(*(result.issues.column(c).to_pylist() for c in ("entity_key", "column_name", "rule", "raw_value")))
    )
    assert got == [
        ("C1", "date_of_birth", "past_date", "2099-01-01"),
        ("C1", "email", "invalid_email", "a..b@x.com"),
        ("C1", "phone", "invalid_phone", "12"),
    ]


def test_the_schema_check_uses_the_libraries_not_the_cleaning_code():
    rows = clean_fields(CUSTOMERS, bronze("customers", [{"customer_id": "C1", "phone": "555 123 4567"}]), "US").table
    from ecommerce_pipeline.transforms.customers import customers_clean as clean

    table = clean(rows, None, [DAY], fields_cleaned=True).history
    assert check_schema("customers_clean", table).passed
    broken = table.set_column(
        table.column_names.index("phone"), "phone", pc.binary_join_element_wise(table.column("phone"), "9", "")
    )
    broken = broken.set_column(
        broken.column_names.index("email"),
        "email",
        pc.cast(pc.fill_null(broken.column("email"), "a..b@x.com"), broken.schema.field("email").type),
    )
    outcome = check_schema("customers_clean", broken)
    assert not outcome.passed and {f.split(":")[0] for f in outcome.failures} == {"phone", "email"}


def test_the_default_region_is_configurable_through_the_run(project_env, write_landing, monkeypatch):
    monkeypatch.setenv("ECOM_DEFAULT_PHONE_COUNTRY", "IT")
    write_landing("customers", [{"customer_id": "IT1", "phone": "06 6982 1234"}, {"customer_id": "IT2", "phone": "12"}])
    result = dg.materialize(
        [a for a in bronze_assets if a.node_def.name == "bronze_customers"] + [customers_clean],
        partition_key=DAY.isoformat(),
        resources=resources_for(load_settings()),
    )
    assert result.success
    lake = LocalLake(project_env / "lake")
    silver = local_table_store(project_env / "lake").read("silver/customers_clean")
    customers = {r["customer_id"]: r["phone"] for r in silver.to_pylist()}
    assert customers == {"IT1": "+390669821234", "IT2": None}
    (issue,) = lake.read_partition("quarantine/field_issues", DAY).to_pylist()
    assert (issue["entity_key"], issue["rule"], issue["raw_value"], issue["_source_row"]) == (
        "IT2",
        "invalid_phone",
        "12",
        3,
    )


def test_an_unknown_region_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown default phone country"):
        clean_fields(CUSTOMERS, bronze("customers", [{"customer_id": "C1"}]), "XX")


def test_most_numbers_written_alike_do_not_reach_the_library_one_by_one(monkeypatch):
    import numpy as np
    import pyarrow as pa

    numbers = sorted(set(_numbers(np.random.default_rng(7), 4000)))
    calls = []
    real = field_quality.check_phone
    monkeypatch.setattr(field_quality, "check_phone", lambda v, r: calls.append(v) or real(v, r))
    field_quality.phone_verdicts(pa.array(numbers), "US")
    assert len(calls) < len(numbers) / 4
