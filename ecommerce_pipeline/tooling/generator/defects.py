"""Defects injected into a clean day, from their own random stream, each kind counted."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.tooling.generator.arrays import ids, join, pick

DEFECT_KINDS = (
    "duplicate_rows",
    "bad_email",
    "negative_amount",
    "unknown_product",
    "bad_timestamp",
    "missing_required",
)
ENTITY_DEFECTS = {
    "customers": ("duplicate_rows", "bad_email"),
    "products": ("duplicate_rows",),
    "orders": ("duplicate_rows", "bad_timestamp", "missing_required"),
    "order_items": ("duplicate_rows", "negative_amount", "unknown_product", "missing_required"),
    "events": ("duplicate_rows", "bad_timestamp", "missing_required"),
}
BAD_TIMESTAMPS = ("not-a-time", "2024-13-45T99:00:00", "32/01/2025 10:00")


def inject_defects(
    rng: np.random.Generator, tables: dict[str, pa.Table], rate: float
) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """Spoil about ``rate`` of each entity's rows, each defective row with one kind of defect.

    Takes the tables out of ``tables`` as it goes, so a day's clean and spoiled events never coexist.
    """
    counts = dict.fromkeys(DEFECT_KINDS, 0)
    if rate <= 0:
        return tables, counts
    out = {}
    for entity in list(tables):
        table = tables.pop(entity)
        kinds = ENTITY_DEFECTS[entity]
        spoiled = rng.binomial(table.num_rows, rate)
        rows = np.sort(rng.choice(table.num_rows, size=spoiled, replace=False))
        kind = rng.integers(0, len(kinds), spoiled)
        for i, name in enumerate(kinds):
            if name != "duplicate_rows":
                table = _SPOILERS[name](rng, table, entity, rows[kind == i])
            counts[name] += int((kind == i).sum())
        duplicates = rows[kind == kinds.index("duplicate_rows")]
        out[entity] = pa.concat_tables([table, table.take(pa.array(duplicates, pa.int64()))])
    return out, counts


def _replace(table: pa.Table, column: str, rows: np.ndarray, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    """Put ``values`` (one per row, rows ascending) into ``column`` at ``rows``."""
    if len(rows) == 0:
        return table
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[rows] = True
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.string())
    if values.null_count:
        spoiled = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), table.column(column))
    else:
        spoiled = pc.replace_with_mask(table.column(column).combine_chunks(), pa.array(mask), values)
    return table.set_column(table.schema.get_field_index(column), column, spoiled)


def _bad_email(rng, table: pa.Table, entity: str, rows: np.ndarray) -> pa.Table:
    email = table.column("email").take(pa.array(rows, pa.int64()))
    broken = pc.fill_null(pc.replace_substring(email, "@", "-at-"), "no-at-sign.example.com")
    return _replace(table, "email", rows, broken)


def _negative_amount(rng, table: pa.Table, entity: str, rows: np.ndarray) -> pa.Table:
    on_quantity = rng.random(len(rows)) < 0.5
    for column, picked in (("quantity", rows[on_quantity]), ("unit_price", rows[~on_quantity])):
        values = table.column(column).take(pa.array(picked, pa.int64()))
        table = _replace(table, column, picked, join("-", values))
    return table


def _unknown_product(rng, table: pa.Table, entity: str, rows: np.ndarray) -> pa.Table:
    return _replace(table, "product_id", rows, ids("P-UNKNOWN-", rng.integers(0, 100_000, len(rows)), 5))


def _bad_timestamp(rng, table: pa.Table, entity: str, rows: np.ndarray) -> pa.Table:
    column = next(c.name for c in ENTITIES[entity].columns if c.type == "timestamp" and c.required)
    return _replace(table, column, rows, pick(BAD_TIMESTAMPS, rng.integers(0, len(BAD_TIMESTAMPS), len(rows))))


def _missing_required(rng, table: pa.Table, entity: str, rows: np.ndarray) -> pa.Table:
    required = ENTITIES[entity].required
    which = rng.integers(0, len(required), len(rows))
    for i, column in enumerate(required):
        picked = rows[which == i]
        table = _replace(table, column, picked, pa.nulls(len(picked), pa.string()))
    return table


_SPOILERS = {
    "bad_email": _bad_email,
    "negative_amount": _negative_amount,
    "unknown_product": _unknown_product,
    "bad_timestamp": _bad_timestamp,
    "missing_required": _missing_required,
}
