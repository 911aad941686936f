"""A day and a date range of the store: the pools carried from day to day, and the files written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.tooling.generator.customers import (
    CustomerPool,
    customer_changes,
    customers_table,
    new_customers,
)
from ecommerce_pipeline.tooling.generator.defects import DEFECT_KINDS, inject_defects
from ecommerce_pipeline.tooling.generator.events import draw_sessions, events_table
from ecommerce_pipeline.tooling.generator.orders import draw_orders, order_items_table, order_updates, orders_table
from ecommerce_pipeline.tooling.generator.products import (
    ProductPool,
    catalog_changes,
    new_products,
    products_table,
)
from ecommerce_pipeline.tooling.generator.vocabulary import WEEKDAY_FACTORS
from ecommerce_pipeline.tooling.generator.writers import FILE_FORMATS, WRITERS

EVENTS_PER_LINE = 5


@dataclass(frozen=True)
class StoreState:
    """What a day leaves behind for the next: the pools and the last day generated."""

    customers: CustomerPool
    products: ProductPool
    last_day: date


@dataclass
class GenerationSummary:
    days: int
    rows: dict[str, int] = field(default_factory=dict)
    defects: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def generate_day(
    day: date,
    *,
    lines_per_day: int,
    seed: int,
    defect_rate: float = 0.01,
    state: StoreState | None = None,
) -> tuple[dict[str, pa.Table], dict[str, int], StoreState]:
    """One day's landing tables (string columns in contract order), the defects injected, the new state."""
    _check_arguments(lines_per_day, seed, defect_rate)
    if state is not None and day <= state.last_day:
        raise ValueError(f"day {day} is not after the state's last day {state.last_day}")
    rng = np.random.default_rng([seed, day.toordinal()])

    if state is None:
        products = new_products(rng, _catalog_size(lines_per_day))
        customers = new_customers(rng, _initial_customers(lines_per_day), day, initial=True)
        shipped_products, shipped_customers = np.arange(len(products)), np.arange(len(customers))
    else:
        products, shipped_products = catalog_changes(rng, state.products)
        customers, shipped_customers = customer_changes(rng, state.customers, day, lines_per_day)

    tables = _day_tables(rng, day, lines_per_day, customers, products, shipped_customers, shipped_products)
    defect_rng = np.random.default_rng([seed, day.toordinal(), 1])
    tables, defects = inject_defects(defect_rng, tables, defect_rate)
    return tables, defects, StoreState(customers, products, day)


def _day_tables(
    rng: np.random.Generator,
    day: date,
    lines_per_day: int,
    customers: CustomerPool,
    products: ProductPool,
    shipped_customers: np.ndarray,
    shipped_products: np.ndarray,
) -> dict[str, pa.Table]:
    orders = draw_orders(rng, _lines_today(rng, day, lines_per_day), customers, products)
    events = draw_sessions(rng, orders, customers, products, EVENTS_PER_LINE * len(orders.line_product))
    return {
        "customers": customers_table(rng, customers, shipped_customers, day),
        "products": products_table(rng, products, shipped_products, day),
        "orders": orders_table(day, orders),
        "order_items": order_items_table(day, orders),
        "events": events_table(day, events, products),
    }


def generate_store(
    landing_dir: Path,
    start: date,
    end: date,
    *,
    lines_per_day: int,
    seed: int,
    defect_rate: float = 0.01,
    file_format: str = "csv",
) -> GenerationSummary:
    """Write ``<landing>/<entity>/<day>/<entity>_<day>.<ext>`` for every entity and day from start to end."""
    if file_format not in FILE_FORMATS:
        raise ValueError(f"unknown file format {file_format!r}; expected one of {', '.join(FILE_FORMATS)}")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    landing_dir = Path(landing_dir)
    summary = GenerationSummary(days=0, rows=dict.fromkeys(ENTITIES, 0), defects=dict.fromkeys(DEFECT_KINDS, 0))
    state, previous_orders = None, None
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        tables, defects, state = generate_day(
            day, lines_per_day=lines_per_day, seed=seed, defect_rate=defect_rate, state=state
        )
        files = {entity: (entity, table) for entity, table in tables.items()}
        if previous_orders is not None:
            updates = order_updates(np.random.default_rng([seed, day.toordinal(), 2]), day, previous_orders)
            files["order_updates"] = ("orders", updates)
        previous_orders = tables["orders"]
        for name, (entity, table) in files.items():
            path = landing_dir / entity / day.isoformat() / f"{name}_{day.isoformat()}.{file_format}"
            path.parent.mkdir(parents=True, exist_ok=True)
            WRITERS[file_format](table, path)
            summary.rows[entity] += table.num_rows
            summary.files.append(path)
        for kind, count in defects.items():
            summary.defects[kind] += count
        summary.days += 1
    return summary


def _check_arguments(lines_per_day: int, seed: int, defect_rate: float) -> None:
    if lines_per_day < 1:
        raise ValueError("lines_per_day must be at least 1")
    if seed < 0:
        raise ValueError("seed must not be negative")
    if not 0 <= defect_rate < 1:
        raise ValueError("defect_rate must be in [0, 1)")


# --- scale ----------------------------------------------------------------------------------------


def _catalog_size(lines_per_day: int) -> int:
    return int(np.clip(lines_per_day // 20, 200, 50_000))


def _initial_customers(lines_per_day: int) -> int:
    return int(np.clip(lines_per_day, 300, 2_000_000))


def _lines_today(rng: np.random.Generator, day: date, lines_per_day: int) -> int:
    noise = rng.lognormal(0.0, 0.03)
    return max(1, round(lines_per_day * WEEKDAY_FACTORS[day.weekday()] * noise))
