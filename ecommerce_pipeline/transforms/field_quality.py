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
    """Where ``decided`` the value is ``decided_values`` (valid), elsewhere the library's verdict. The column stays
    in Arrow: only the values the library judges become Python strings (a million addresses made a million)."""
    undecided = ~np.asarray(decided.fill_null(False))
    clean = decided_values.cast(pa.string())
    rules, details = pa.nulls(len(values), pa.string()), pa.nulls(len(values), pa.string())
    if undecided.any():
        verdicts = [check(values[int(i)].as_py()) for i in np.flatnonzero(undecided)]
        clean, rules, details = _with_verdicts(pa.array(undecided), verdicts, clean, rules, details)
    return clean, rules, details


def _with_verdicts(where: pa.Array, verdicts: list[Verdict], clean: pa.Array, rules: pa.Array, details: pa.Array):
    """The three columns with the rows ``where`` is true replaced by ``verdicts``, in row order."""
    return tuple(
        pc.replace_with_mask(column, where, pa.array([getattr(v, part) for v in verdicts], pa.string()))
        for column, part in ((clean, "value"), (rules, "rule"), (details, "detail"))
    )


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
    digits = _ascii_digits_only(values)
    # How the number starts (+, 00, a bracket...), its first digits and how many digits it has.
    key = pc.binary_join_element_wise(
        _ascii_digits_masked(pc.utf8_slice_codeunits(values, 0, SHAPE_PREFIX_CHARS)),
        pc.utf8_slice_codeunits(digits, 0, SHAPE_DIGITS),
        pc.cast(pc.utf8_length(digits), pa.string()),
        "|",
    )
    plain = np.asarray(pc.match_substring_regex(values, PLAIN_PHONE).fill_null(False))
    groups = pc.unique(key)
    group_of = np.asarray(pc.index_in(key, value_set=groups))
    order = np.argsort(group_of, kind="stable")
    bounds = np.flatnonzero(np.diff(group_of[order])) + 1
    # Per group: the country code put in front and the first digit kept, or the verdict that rejects the group.
    codes, kept_from = [None] * len(groups), np.full(len(groups), -1, dtype=np.int64)
    rejections: list[Verdict] = [Verdict(None)] * len(groups)
    for members in np.split(order, bounds) if len(order) else []:
        if len(members) < 4 or not plain[members[0]]:
            continue
        group = int(group_of[members[0]])
        reps = [int(members[0]), int(members[len(members) // 2]), int(members[-1])]
        verdicts = [check_phone(values[r].as_py(), region) for r in reps]
        if all(v.value is None for v in verdicts) and len({v.detail for v in verdicts}) == 1:
            rejections[group] = verdicts[0]
            continue
        rule = _transformation(digits[reps[0]].as_py(), verdicts[0])
        if rule is None:
            continue
        cc, at = rule
        if all(v.rule is None and v.value == "+" + cc + digits[r].as_py()[at:] for r, v in zip(reps, verdicts)):
            codes[group], kept_from[group] = cc, at
    # Each row takes its group's outcome, in Arrow: a million Python strings cost more than the rest together.
    of_group = pa.array(group_of)
    start = kept_from[group_of]
    tails = digits
    for at in range(1, SHAPE_DIGITS + 1):
        if (start == at).any():
            tails = pc.if_else(pa.array(start == at), pc.utf8_slice_codeunits(digits, at), tails)
    clean = pc.binary_join_element_wise("+", pa.array(codes, pa.string()).take(of_group), tails, "")
    rules = pa.array([v.rule for v in rejections], pa.string()).take(of_group)
    details = pa.array([v.detail for v in rejections], pa.string()).take(of_group)
    alone = (start < 0) & np.asarray(rules.is_null())  # judged by the library one number at a time
    if alone.any():
        verdicts = [check_phone(values[int(i)].as_py(), region) for i in np.flatnonzero(alone)]
        clean, rules, details = _with_verdicts(pa.array(alone), verdicts, clean, rules, details)
    return clean, rules, details


_ASCII_DIGIT_BYTES = np.zeros(256, dtype=bool)
_ASCII_DIGIT_BYTES[ord("0") : ord("9") + 1] = True


def _one_string_array(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    values = values.cast(pa.string())
    # A pandas column of Arrow strings converts to chunks.
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _ascii_digits_only(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``values`` with everything but the ASCII digits taken out, as ``replace_substring_regex(values, "[^0-9]",
    "")`` gives, by keeping those bytes of the data buffer: in UTF-8 every other character is made of other
    bytes. The regex took 0.5 s for a million numbers."""
    values = _one_string_array(values)
    _, offsets, data = values.buffers()
    if data is None:
        return values
    offsets = np.frombuffer(offsets, dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    first, last = int(offsets[0]), int(offsets[-1])
    raw = np.frombuffer(data, dtype=np.uint8)[first:last]
    keep = _ASCII_DIGIT_BYTES[raw]
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)]).astype(np.int32)
    validity = pc.is_valid(values).buffers()[1] if values.null_count else None  # starts at the first value
    return pa.StringArray.from_buffers(
        len(values), pa.py_buffer(kept_before[offsets - first]), pa.py_buffer(raw[keep]), validity, values.null_count
    )


def _ascii_digits_masked(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``values`` with every ASCII digit written "#", as ``replace_substring_regex(values, "[0-9]", "#")`` gives,
    by rewriting the bytes of the data buffer: in UTF-8 the bytes of "0" to "9" never occur inside another
    character. The regex took 0.9 s over the first characters of a million numbers."""
    values = _one_string_array(values)
    validity, offsets, data = values.buffers()
    if data is None:
        return values
    raw = np.frombuffer(data, dtype=np.uint8)
    masked = pa.py_buffer(np.where(_ASCII_DIGIT_BYTES[raw], np.uint8(ord("#")), raw))
    return pa.StringArray.from_buffers(len(values), offsets, masked, validity, values.null_count, values.offset)


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
    # One hash pass gives the distinct texts (in order of first appearance, nulls left out) and each row's
    # position among them: ``unique`` then ``index_in`` hashed a million texts twice.
    encoded = pc.dictionary_encode(pc.utf8_trim_whitespace(_one_string_array(column)))
    return tuple(pc.take(part, encoded.indices) for part in verdicts(encoded.dictionary))


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
