"""The product catalog: listings, daily price changes and delistings, and the products landing table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pyarrow as pa

from ecommerce_pipeline.tooling.generator.arrays import (
    DAY_SECONDS,
    apply_blanks,
    as_text,
    blank_bits,
    concat_pools,
    contract_table,
    ids,
    join,
    money,
    pick,
    timestamps,
)
from ecommerce_pipeline.tooling.generator.vocabulary import (
    ADJECTIVES,
    BRANDS,
    BRANDS_PER_CATEGORY,
    CATEGORIES,
    CATEGORY_MEDIAN_CENTS,
    MODEL_LETTERS,
    NOUNS,
    PRODUCT_BLANKS,
    SUBCATEGORIES,
    SUBS_PER_CATEGORY,
)


@dataclass(frozen=True)
class ProductPool:
    """Every product the store has listed, as codes; product i has id P{i+1}."""

    category: np.ndarray
    subcategory: np.ndarray  # index into SUBCATEGORIES
    brand: np.ndarray  # index into BRANDS
    adjective: np.ndarray
    model: np.ndarray
    base_cents: np.ndarray
    price_cents: np.ndarray
    cost_cents: np.ndarray
    active: np.ndarray
    blanks: np.ndarray
    popularity: np.ndarray  # Zipf-like weight

    def __len__(self) -> int:
        return len(self.category)


def _zipf_weights(ranks: np.ndarray) -> np.ndarray:
    # Zipf-Mandelbrot: the top tenth of the catalog sells about three quarters of the units, yet no
    # single product takes more than a few percent.
    return 1.0 / (ranks.astype(float) + 4.0)


def new_products(rng: np.random.Generator, size: int, ranks: np.ndarray | None = None) -> ProductPool:
    category = rng.integers(0, len(CATEGORIES), size)
    base = np.exp(rng.normal(np.log(CATEGORY_MEDIAN_CENTS[category]), 0.6))
    base_cents = np.maximum(np.floor(base / 100).astype(np.int64) * 100 + 99, 99)  # charm pricing: x.99
    on_sale = rng.random(size) < 0.25
    price_cents = np.where(on_sale, np.round(base_cents * (1 - rng.choice([0.1, 0.15, 0.2, 0.3], size))), base_cents)
    price_cents = price_cents.astype(np.int64)
    cost_cents = np.minimum(np.round(base_cents * rng.uniform(0.35, 0.7, size)).astype(np.int64), price_cents - 1)
    popularity = _zipf_weights(rng.permutation(size) + 1 if ranks is None else ranks)
    return ProductPool(
        category=category,
        subcategory=category * SUBS_PER_CATEGORY + rng.integers(0, SUBS_PER_CATEGORY, size),
        brand=category * BRANDS_PER_CATEGORY + rng.integers(0, BRANDS_PER_CATEGORY, size),
        adjective=rng.integers(0, len(ADJECTIVES), size),
        model=rng.integers(0, len(MODEL_LETTERS) * 900, size),
        base_cents=base_cents,
        price_cents=price_cents,
        cost_cents=np.maximum(cost_cents, 0),
        active=rng.random(size) < 0.98,
        blanks=blank_bits(rng, size, PRODUCT_BLANKS),
        popularity=popularity,
    )


def catalog_changes(rng: np.random.Generator, pool: ProductPool) -> tuple[ProductPool, np.ndarray]:
    """A day's new listings, price changes and delistings; returns the pool and the products to ship."""
    n = len(pool)
    repriced = rng.choice(n, size=min(n, 1 + rng.poisson(0.01 * n)), replace=False)
    delisted = rng.choice(n, size=min(n, rng.poisson(0.0005 * n)), replace=False)
    base, price, cost, active = (
        pool.base_cents.copy(),
        pool.price_cents.copy(),
        pool.cost_cents.copy(),
        pool.active.copy(),
    )

    # A few list-price rises; otherwise a new discount, or back to full price (discount 0).
    rise = rng.random(len(repriced)) < 0.1
    base[repriced[rise]] = (base[repriced[rise]] * 1.05).astype(np.int64) // 100 * 100 + 99
    discount = rng.choice([0.0, 0.1, 0.15, 0.2, 0.25, 0.3], len(repriced))
    price[repriced] = np.round(base[repriced] * (1 - np.where(rise, 0.0, discount))).astype(np.int64)
    cost[repriced] = np.minimum(cost[repriced], price[repriced] - 1)
    active[delisted] = False

    pool = replace(pool, base_cents=base, price_cents=price, cost_cents=cost, active=active)
    new_count = rng.poisson(max(1.0, 0.002 * n))
    new = new_products(rng, new_count, ranks=rng.integers(1, n + 1, new_count))
    shipped = np.concatenate([np.union1d(repriced, delisted), np.arange(n, n + new_count)])
    return concat_pools(pool, new), shipped


def products_table(rng: np.random.Generator, pool: ProductPool, index: np.ndarray, day: date) -> pa.Table:
    category, sub = pool.category[index], pool.subcategory[index]
    model = pool.model[index]
    columns = {
        "product_id": ids("P", index + 1, 5),
        "product_name": join(
            pick(BRANDS, pool.brand[index]),
            " ",
            pick(ADJECTIVES, pool.adjective[index]),
            " ",
            pick(NOUNS, sub),
            " ",
            pick(MODEL_LETTERS, model // 900),
            as_text(100 + model % 900),
        ),
        "category": pick(CATEGORIES, category),
        "subcategory": pick(SUBCATEGORIES, sub),
        "brand": pick(BRANDS, pool.brand[index]),
        "base_price": money(pool.base_cents[index]),
        "current_price": money(pool.price_cents[index]),
        "cost": money(pool.cost_cents[index]),
        "is_active": pick(("false", "true"), pool.active[index].astype(np.int64)),
        "updated_at": timestamps(day, rng.integers(0, DAY_SECONDS, len(index))),
    }
    apply_blanks(columns, pool.blanks[index], PRODUCT_BLANKS)
    return contract_table("products", columns)
