"""Vectorised helpers shared by the entities: weighted draws and NumPy codes turned into string columns."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.tooling.generator.vocabulary import HOUR_WEIGHTS, OFFSETS

EPOCH = date(1970, 1, 1)
DAY_SECONDS = 86_400


def choice(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def weighted_pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn in proportion to ``weights`` (zero weights are never drawn); fast for large pools."""
    cdf = np.cumsum(weights, dtype=float)
    picked = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
    return np.minimum(picked, np.flatnonzero(weights > 0)[-1])


def within(counts: np.ndarray) -> np.ndarray:
    """Position of each element within its group, for groups laid out as ``np.repeat(groups, counts)``."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


def as_text(numbers: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())


def join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    return join(prefix, pc.utf8_lpad(as_text(numbers), width, "0"))


def pick(vocabulary, index: np.ndarray) -> pa.Array:
    """vocabulary[index] as strings; negative indices give null."""
    vocabulary = vocabulary if isinstance(vocabulary, pa.Array) else pa.array(list(vocabulary), pa.string())
    index = np.asarray(index, dtype=np.int64)
    return vocabulary.take(pa.array(index, mask=index < 0))


def money(cents: np.ndarray) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    return join(as_text(cents // 100), ".", pc.utf8_lpad(as_text(cents % 100), 2, "0"))


def blank(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), values)


def iso_dates(days_since_epoch: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(days_since_epoch, dtype=np.int32), pa.date32()), pa.string())


def day_number(day: date) -> int:
    return (day - EPOCH).days


def timestamps(
    day: date, seconds: np.ndarray, style: np.ndarray | None = None, offset: np.ndarray | None = None
) -> pa.Array:
    """ISO 8601 for instants ``seconds`` into ``day`` (UTC): with Z (style 0), without offset (style 1,
    meaning UTC by contract) or as local time with an offset (style 2, ``offset`` indexing OFFSETS)."""
    epoch = day_number(day) * DAY_SECONDS + np.asarray(seconds, dtype=np.int64)
    if style is None:
        text = pc.cast(pa.array(epoch, pa.timestamp("s")), pa.string())
        return join(pc.utf8_replace_slice(text, 10, 11, "T"), "Z")
    shift = np.where(style == 2, np.array([m for _, m in OFFSETS])[offset] * 60, 0)
    text = pc.cast(pa.array(epoch + shift, pa.timestamp("s")), pa.string())
    text = pc.if_else(pa.array(style == 1), text, pc.utf8_replace_slice(text, 10, 11, "T"))
    suffix = np.where(style == 2, 2 + offset, style)
    return join(text, pick(("Z", "") + tuple(label for label, _ in OFFSETS), suffix))


def times_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    hours = choice(rng, HOUR_WEIGHTS, size)
    return hours * 3600 + rng.integers(0, 3600, size)


def blank_bits(rng: np.random.Generator, size: int, shares: dict[str, float]) -> np.ndarray:
    bits = np.zeros(size, dtype=np.int64)
    for i, share in enumerate(shares.values()):
        bits |= (rng.random(size) < share).astype(np.int64) << i
    return bits


def apply_blanks(columns: dict[str, pa.Array], bits: np.ndarray, shares: dict[str, float]) -> None:
    for i, name in enumerate(shares):
        columns[name] = blank(columns[name], (bits >> i) & 1 == 1)


def contract_table(entity: str, columns: dict[str, pa.Array]) -> pa.Table:
    names = ENTITIES[entity].column_names
    if set(columns) != set(names):
        raise AssertionError(f"{entity}: generated {sorted(columns)}, contract has {names}")
    return pa.table({n: columns[n].cast(pa.string()) for n in names})


def concat_pools(pool, extra):
    return type(pool)(**{f.name: np.concatenate([getattr(pool, f.name), getattr(extra, f.name)]) for f in fields(pool)})
