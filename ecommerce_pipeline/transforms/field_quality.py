"""Field-level quality: an invalid optional value costs only that value, never the record.

``clean_fields(entity, rows, default_region)`` takes an entity's bronze rows (contract columns plus
lineage, and bronze's ``_field_issues``) and returns the rows with every invalid optional value set to
null (valid ones normalised), and one field-issues row per value it nulled or changed materially:
entity, key, column, raw value, rule, detail, and the file and row the value came from.

- ``phone``: judged by ``phonenumbers`` (national numbers in ``default_region``); a possible number becomes
  E.164, anything else is null (``invalid_phone``). An extension cannot be written in E.164: the number is
  kept without it and the extension recorded (``phone_extension_removed``). Each distinct text is judged once,
  and numbers written alike share the library's verdict (``phone_verdicts``): a million customers is not a
  million parses.
- ``email``: judged by ``email-validator`` (syntax only, never the network): valid addresses are kept trimmed
  and lower-cased, invalid ones are null (``invalid_email``). Internationalised domains are valid. Plain ASCII
  addresses are decided by the library's own rules applied to the whole column at once (``email_verdicts``).
- Typed optional columns (``date_of_birth``): bronze already nulled a value that is not a date or breaks a
  rule and kept it in ``_field_issues``; those become field-issues rows here.

Pure: Arrow in, Arrow out; nothing here knows Dagster or storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import email_validator
import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.contract import Entity
from ecommerce_pipeline.transforms.bronze import FIELD_ISSUES_COLUMN
from ecommerce_pipeline.transforms.sql import query

FIELD_ISSUES_SCHEMA = pa.schema(
    [
        ("business_date", pa.date32()),
        ("entity", pa.string()),
        ("entity_key", pa.string()),
        ("column_name", pa.string()),
        ("raw_value", pa.string()),
        ("rule", pa.string()),
        ("detail", pa.string()),
        ("_source_file", pa.string()),
        ("_source_row", pa.int64()),
        ("_batch_id", pa.string()),
        ("_ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)
KEY_SEPARATOR = "|"


@dataclass
class FieldQualityResult:
    table: pa.Table  # the rows, invalid optional values nulled, valid ones normalised
    issues: pa.Table  # FIELD_ISSUES_SCHEMA


@dataclass(frozen=True)
class Verdict:
    value: str | None  # the clean value, None when invalid
    rule: str | None = None  # set when the value was nulled or changed materially
    detail: str | None = None


@lru_cache(maxsize=1 << 20)
def check_phone(text: str, default_region: str) -> Verdict:
    """A possible phone number in E.164, or an invalid_phone verdict."""
    # "00" is the international prefix in most of the world; a national number never starts with it.
    text = "+" + text[2:] if text.startswith("00") else text
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        return Verdict(None, "invalid_phone", f"invalid_phone: phone cannot be read as a phone number ({exc})")
    if not phonenumbers.is_possible_number(number):
        return Verdict(None, "invalid_phone", "invalid_phone: phone is not a possible number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.extension:
        detail = f"phone_extension_removed: E.164 has no extensions; phone kept as the number without ext. {number.extension}"
        return Verdict(e164, "phone_extension_removed", detail)
    return Verdict(e164)


@lru_cache(maxsize=1 << 20)
def check_email(text: str) -> Verdict:
    """A syntactically valid address (email-validator, no DNS), trimmed and lower-cased."""
    try:
        email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        return Verdict(None, "invalid_email", f"invalid_email: email is not a valid address ({exc})")
    return Verdict(text.lower())


def emails_are_valid(values) -> np.ndarray:
    """For the schema check: each address as email-validator judges it (lower-cased, as silver keeps it)."""
    array = pa.array(values, pa.string())  # a pandas Series converts without a Python list
    clean, _, _ = email_verdicts(array)
    return np.asarray(pc.fill_null(pc.equal(clean, array), False))


def phones_are_e164(values) -> np.ndarray:
    """For the schema check: each number is one the library reads as a possible number written in E.164."""
    array = pa.array(values, pa.string())  # a pandas Series converts without a Python list
    clean, rules, _ = phone_verdicts(array, "ZZ")
    ok = pc.and_(pc.fill_null(pc.equal(clean, array), False), pc.is_null(rules))
    return np.asarray(pc.and_(ok, pc.starts_with(array, "+")))


# Addresses of this plain shape are valid for email-validator by its own rules (dot-atom local part, LDH domain
# labels, an alphabetic top-level domain, within its length limits), unless the domain is one of its special-use
# names: those, and every other address, are judged by the library itself. The agreement is tested.
PLAIN_EMAIL = r"^[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
SPECIAL_USE_DOMAIN = "(?i)[.@](" + "|".join(sorted(email_validator.SPECIAL_USE_DOMAIN_NAMES)) + ")$"


def email_verdicts(values: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Clean value, rule and detail for each (distinct, trimmed) e-mail: plain addresses by their shape, the rest
    by ``email_validator`` one at a time."""
    plain = pc.and_(
        pc.match_substring_regex(values, PLAIN_EMAIL),
        pc.and_(
            pc.invert(pc.match_substring_regex(values, SPECIAL_USE_DOMAIN)),
            pc.and_(pc.invert(pc.match_substring(values, "--")), pc.less_equal(pc.utf8_length(values), 254)),
        ),
    )
    # A plain address is ASCII with one "@": its position is the local part's length.
    plain = pc.and_(plain, pc.less_equal(pc.find_substring(values, "@"), 64))
    return _merge_with_library(values, plain, pc.utf8_lower(values), lambda v: check_email(v))


def _merge_with_library(values: pa.Array, decided: pa.Array, decided_values: pa.Array, check):
    """Where ``decided`` the value is ``decided_values`` (valid), elsewhere the library's verdict."""
    decided_np = np.asarray(decided.fill_null(False))
    clean = np.asarray(decided_values.to_numpy(zero_copy_only=False), dtype=object)
    rules = np.full(len(values), None, dtype=object)
    details = np.full(len(values), None, dtype=object)
    for i in np.flatnonzero(~decided_np):
        verdict = check(values[int(i)].as_py())
        clean[i], rules[i], details[i] = verdict.value, verdict.rule, verdict.detail
    return pa.array(clean, pa.string()), pa.array(rules, pa.string()), pa.array(details, pa.string())


# Phones: the library's verdict on a number depends on its country code, its national prefix and its length, all
# read from how it starts and how many digits it has (separators between digits are ignored). Numbers written
# alike (the same first SHAPE_PREFIX_CHARS characters once digits are masked, the same first SHAPE_DIGITS digits, as many digits, only
# digits and separators) share one transformation (which digits are kept, which
# country code is put in front): it is taken from the library on up to three of them, and applied to the group only
# if the library agrees on all three; any other group (and any number with letters or an extension) is judged by
# the library one number at a time.
SHAPE_DIGITS = 4
SHAPE_PREFIX_CHARS = 8
PLAIN_PHONE = r"^[0-9 ()+.\-/]+$"


def phone_verdicts(values: pa.Array, region: str) -> tuple[pa.Array, pa.Array, pa.Array]:
    digits = pc.replace_substring_regex(values, r"[^0-9]", "")
    # How the number starts (+, 00, a bracket...), its first digits and how many digits it has.
    key = pc.binary_join_element_wise(
        pc.replace_substring_regex(pc.utf8_slice_codeunits(values, 0, SHAPE_PREFIX_CHARS), "[0-9]", "#"),
        pc.utf8_slice_codeunits(digits, 0, SHAPE_DIGITS),
        pc.cast(pc.utf8_length(digits), pa.string()),
        "|",
    )
    plain = np.asarray(pc.match_substring_regex(values, PLAIN_PHONE).fill_null(False))
    groups = pc.unique(key)
    group_of = np.asarray(pc.index_in(key, value_set=groups))
    order = np.argsort(group_of, kind="stable")
    bounds = np.flatnonzero(np.diff(group_of[order])) + 1
    prefix = np.full(len(values), None, dtype=object)
    start = np.full(len(values), -1, dtype=np.int64)
    invalid = np.full(len(values), None, dtype=object)  # the group's verdict, for groups the library rejects
    for members in np.split(order, bounds):
        if len(members) < 4 or not plain[members[0]]:
            continue
        reps = [int(members[0]), int(members[len(members) // 2]), int(members[-1])]
        verdicts = [check_phone(values[r].as_py(), region) for r in reps]
        if all(v.value is None for v in verdicts) and len({v.detail for v in verdicts}) == 1:
            invalid[members] = verdicts[0]
            continue
        rule = _transformation(digits[reps[0]].as_py(), verdicts[0])
        if rule is None:
            continue
        cc, at = rule
        if all(v.rule is None and v.value == "+" + cc + digits[r].as_py()[at:] for r, v in zip(reps, verdicts)):
            prefix[members], start[members] = cc, at
    clean = np.full(len(values), None, dtype=object)
    rules = np.full(len(values), None, dtype=object)
    details = np.full(len(values), None, dtype=object)
    for at in range(SHAPE_DIGITS + 1):
        rows = np.flatnonzero(start == at)
        if len(rows):
            tails = pc.utf8_slice_codeunits(digits.take(pa.array(rows)), at)
            heads = pa.array(prefix[rows], pa.string())
            clean[rows] = pc.binary_join_element_wise("+", heads, tails, "").to_numpy(zero_copy_only=False)
    rejected = np.flatnonzero(invalid != None)  # noqa: E711 - elementwise comparison on an object array
    rules[rejected] = [v.rule for v in invalid[rejected]]
    details[rejected] = [v.detail for v in invalid[rejected]]
    for i in np.flatnonzero((start < 0) & (invalid == None)):  # noqa: E711
        verdict = check_phone(values[int(i)].as_py(), region)
        clean[i], rules[i], details[i] = verdict.value, verdict.rule, verdict.detail
    return pa.array(clean, pa.string()), pa.array(rules, pa.string()), pa.array(details, pa.string())


def _transformation(digits: str, verdict: Verdict) -> tuple[str, int] | None:
    """(country code put in front, first digit kept) such that E.164 = "+" + code + digits[kept:], or None."""
    if verdict.value is None or verdict.rule is not None:
        return None
    e164 = verdict.value[1:]
    for at in range(min(SHAPE_DIGITS, len(digits)) + 1):
        tail = digits[at:]
        if tail and e164.endswith(tail) and len(e164) - len(tail) <= 3:
            return e164[: len(e164) - len(tail)], at
    return None


def _by_distinct_value(column: pa.ChunkedArray, verdicts) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Clean values, rules and details for every row, judging each distinct (trimmed) text once."""
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    trimmed = pc.utf8_trim_whitespace(values.cast(pa.string()))
    distinct = pc.unique(pc.drop_null(trimmed))
    positions = pc.index_in(trimmed, value_set=distinct)
    return tuple(pc.take(part, positions) for part in verdicts(distinct))


def _key(entity: Entity, rows: pa.Table) -> pa.ChunkedArray:
    if len(entity.key) == 1:
        return rows.column(entity.key[0]).cast(pa.string())
    return pc.binary_join_element_wise(*(rows.column(k).cast(pa.string()) for k in entity.key), KEY_SEPARATOR)


def _issues(entity: Entity, rows: pa.Table, mask, column: str, raw, rules, details) -> pa.Table:
    picked = rows.filter(mask)
    lineage = {c: _plain(picked.column(c)) for c in ("_source_file", "_source_row", "_batch_id", "_ingested_at")}
    n = picked.num_rows
    return pa.table(
        {
            "business_date": picked.column("business_date"),
            "entity": pa.array([entity.name] * n, pa.string()),
            "entity_key": _key(entity, picked),
            "column_name": pa.array([column] * n, pa.string()),
            "raw_value": pc.filter(raw, mask),
            "rule": pc.filter(rules, mask),
            "detail": pc.filter(details, mask),
            **lineage,
        }
    ).cast(FIELD_ISSUES_SCHEMA)


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column


def _bronze_issues(entity: Entity, rows: pa.Table) -> pa.Table:
    """The issues bronze found (a typed optional value that was not valid), one row per value."""
    if FIELD_ISSUES_COLUMN not in rows.column_names:
        return FIELD_ISSUES_SCHEMA.empty_table()
    flagged = rows.filter(pc.is_valid(rows.column(FIELD_ISSUES_COLUMN)))
    if flagged.num_rows == 0:
        return FIELD_ISSUES_SCHEMA.empty_table()
    flagged = flagged.select(
        ["business_date", *entity.key, FIELD_ISSUES_COLUMN, "_source_file", "_source_row", "_batch_id", "_ingested_at"]
    )
    flagged = flagged.set_column(
        flagged.column_names.index("_source_file"), "_source_file", _plain(flagged.column("_source_file"))
    )
    flagged = flagged.set_column(
        flagged.column_names.index("_batch_id"), "_batch_id", _plain(flagged.column("_batch_id"))
    )
    key_sql = " || '|' || ".join(f'CAST("{k}" AS VARCHAR)' for k in entity.key)
    shape = '[{"column_name": "VARCHAR", "raw_value": "VARCHAR", "rule": "VARCHAR", "detail": "VARCHAR"}]'
    out = query(
        f"""
        SELECT business_date, $entity AS entity, {key_sql} AS entity_key, i.column_name, i.raw_value, i.rule, i.detail,
               _source_file, _source_row, _batch_id, _ingested_at
        FROM (SELECT *, unnest(from_json({FIELD_ISSUES_COLUMN}, '{shape}')) AS i FROM flagged)
        """,
        {"entity": entity.name},
        flagged=flagged,
    )
    return out.cast(FIELD_ISSUES_SCHEMA)


def clean_fields(entity: Entity, rows: pa.Table, default_region: str = "US") -> FieldQualityResult:
    """``rows`` with invalid optional values nulled, and the field issues found (see the module's doc)."""
    if default_region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"unknown default phone country {default_region!r}: expected an ISO 3166 region (US, GB, IT...)"
        )
    issues = [_bronze_issues(entity, rows)]
    checks = {"valid_phone": lambda v: phone_verdicts(v, default_region.upper()), "valid_email": email_verdicts}
    for col in entity.nullable_when_invalid:
        rule = next((r for r in col.rules if r in checks), None)
        if rule is None or col.name not in rows.column_names:
            continue
        raw = rows.column(col.name)
        clean, rules, details = _by_distinct_value(raw, checks[rule])
        flagged = pc.is_valid(rules)
        if pc.any(flagged).as_py():
            issues.append(_issues(entity, rows, flagged, col.name, raw.combine_chunks(), rules, details))
        rows = rows.set_column(rows.column_names.index(col.name), col.name, clean)
    table = pa.concat_tables(issues)
    if table.num_rows:
        table = table.sort_by(
            [("_source_file", "ascending"), ("_source_row", "ascending"), ("column_name", "ascending")]
        )
    return FieldQualityResult(rows, table)


def issue_counts(issues: pa.Table) -> dict[str, int]:
    """Field issues per rule (for metadata)."""
    if issues.num_rows == 0:
        return {}
    grouped = issues.group_by("rule").aggregate([("rule", "count")])
    return dict(zip(grouped.column("rule").to_pylist(), np.asarray(grouped.column("rule_count")).tolist()))
