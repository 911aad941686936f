"""JSON Lines: one JSON object per line, numbered by line.

Values are kept as the text they were written as: a JSON number keeps its literal digits
(``18446744073709551601`` never goes through a float), ``true``/``false`` become those words, and a
nested value its JSON text. A line that is not a JSON object is a ``malformed_row`` reject.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.json as pajson

from ecommerce_pipeline.ingest.encoding import detect, strip_utf8_bom
from ecommerce_pipeline.ingest.records import ParsedFile, numbered, rejects_table, stringify


def literal_value(value: object) -> str | None:
    """A value from ``loads`` as the string bronze receives: integers with all their digits, decimals as
    written (``9001.0`` stays ``9001.0``), nested values as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=float)


def loads(text: str) -> object:
    """``json.loads`` with exact numbers: integers as Python ints (any size), decimals as ``Decimal``."""
    return json.loads(text, parse_float=Decimal, parse_constant=str)


def objects_to_records(name: str, objects: list[tuple[int, dict]], rejects: list) -> ParsedFile:
    """(row number, object) pairs as one table of string columns, in first-seen column order."""
    columns: dict[str, list] = {}
    for position, (_, obj) in enumerate(objects):
        for key in obj:
            columns.setdefault(key, [None] * position)
        for key, values in columns.items():
            values.append(literal_value(obj.get(key)))
    records = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    records = records.append_column("_source_row", pa.array([n for n, _ in objects], pa.int64()))
    return ParsedFile(name, records, rejects_table(rejects))


def read_json_lines(name: str, data: bytes) -> ParsedFile:
    if detect(data) != "utf-8":
        data = data.decode(detect(data)).encode("utf-8")
    data = strip_utf8_bom(data)
    fast = _read_fast(name, data)
    if fast is not None:
        return fast
    objects: list[tuple[int, dict]] = []
    rejects = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raw = json.dumps({"_raw_line": line.decode("utf-8", "replace")})
            rejects.append((number, "invalid_utf8", "the line holds bytes that are not valid UTF-8", raw))
            continue
        try:
            obj = loads(text)
        except json.JSONDecodeError as exc:
            rejects.append((number, "malformed_row", f"invalid JSON: {exc}", json.dumps({"_raw_line": text})))
            continue
        if not isinstance(obj, dict):
            rejects.append((number, "malformed_row", "the line is not a JSON object", json.dumps({"_raw_line": text})))
            continue
        objects.append((number, obj))
    return objects_to_records(name, objects, rejects)


def _exact_as_text(field: pa.Field) -> bool:
    """Columns whose Arrow type prints back the text the file held: strings, booleans, int64 digits."""
    t = field.type
    return pa.types.is_string(t) or pa.types.is_boolean(t) or pa.types.is_int64(t) or pa.types.is_null(t)


def _read_fast(name: str, data: bytes) -> ParsedFile | None:
    """Arrow's reader handles the clean, flat case; anything unusual (nested values, numbers with a
    fraction or beyond int64, whose text Arrow would not keep) takes the line-by-line path."""
    if b"\n\n" in data or b"\r" in data or not data.strip():
        return None
    try:
        table = pajson.read_json(io.BytesIO(data))
        inferred_times = [f for f in table.schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]
        if inferred_times:
            # Keep timestamps exactly as written: re-read those fields as the strings they are.
            as_text = pa.schema([pa.field(f.name, pa.string()) for f in inferred_times])
            options = pajson.ParseOptions(explicit_schema=as_text, unexpected_field_behavior="infer")
            table = pajson.read_json(io.BytesIO(data), parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not all(_exact_as_text(f) for f in table.schema):
        return None
    records = pa.table({n: stringify(table.column(n)).cast(pa.string()) for n in table.column_names})
    return numbered(name, records)
