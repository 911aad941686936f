"""A day's orders and their lines, the orders and order_items landing tables, and the next day's status updates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from ecommerce_pipeline.tooling.generator.arrays import (
    DAY_SECONDS,
    as_text,
    blank,
    choice,
    contract_table,
    ids,
    money,
    pick,
    times_of_day,
    timestamps,
    weighted_pick,
    within,
)
from ecommerce_pipeline.tooling.generator.customers import CustomerPool
from ecommerce_pipeline.tooling.generator.products import ProductPool
from ecommerce_pipeline.tooling.generator.vocabulary import (
    OFFSETS,
    PAYMENT_METHODS,
    PAYMENT_WEIGHTS,
    QUANTITY_WEIGHTS,
    STATUS_WEIGHTS,
    STATUSES,
    TAX_RATES,
    TS_STYLE_WEIGHTS,
)


@dataclass
class DayOrders:
    """A day's orders (sorted by time) and their lines (grouped by order, in order)."""

    lines: np.ndarray  # lines per order
    customer: np.ndarray
    seconds: np.ndarray
    ts_style: np.ndarray
    ts_offset: np.ndarray
    status: np.ndarray
    payment: np.ndarray
    payment_blank: np.ndarray
    shipping_cents: np.ndarray
    tax_cents: np.ndarray
    line_product: np.ndarray
    quantity: np.ndarray
    unit_cents: np.ndarray
    discount_cents: np.ndarray  # -1: no discount field in the export


def _lines_per_order(rng: np.random.Generator, lines_target: int) -> np.ndarray:
    """Order sizes of 1 to 5 lines (mean about 2.5) adding up to about ``lines_target``."""
    sizes = 1 + np.minimum(rng.poisson(1.55, lines_target // 2 + 8), 4)
    return sizes[: int(np.searchsorted(np.cumsum(sizes), lines_target)) + 1]


def draw_orders(
    rng: np.random.Generator, lines_target: int, customers: CustomerPool, products: ProductPool
) -> DayOrders:
    lines = _lines_per_order(rng, lines_target)
    n, total = len(lines), int(lines.sum())
    customer = weighted_pick(rng, customers.loyalty * customers.active, n)

    product = weighted_pick(rng, products.popularity * products.active, total)
    quantity = 1 + choice(rng, QUANTITY_WEIGHTS, total)
    unit = products.price_cents[product]
    gross = quantity * unit
    discounted = rng.random(total) < 0.12
    discount = np.where(discounted, np.maximum(1, (gross * rng.uniform(0.05, 0.3, total)).astype(np.int64)), 0)
    discount = np.where(discounted | (rng.random(total) < 0.4), discount, -1)

    order_of_line = np.repeat(np.arange(n), lines)
    subtotal = np.bincount(order_of_line, weights=gross - np.maximum(discount, 0), minlength=n).astype(np.int64)
    flat_fee = rng.choice([499, 599, 799], n)
    express = rng.random(n) < 0.08
    shipping = np.where(express, rng.choice([999, 1499], n), np.where(subtotal >= 5000, 0, flat_fee))
    tax = np.round(subtotal * TAX_RATES[customers.place[customer]]).astype(np.int64)
    style = choice(rng, TS_STYLE_WEIGHTS, n)
    return DayOrders(
        lines=lines,
        customer=customer,
        seconds=np.sort(times_of_day(rng, n)),
        ts_style=style,
        ts_offset=rng.integers(0, len(OFFSETS), n),
        status=choice(rng, STATUS_WEIGHTS, n),
        payment=choice(rng, PAYMENT_WEIGHTS, n),
        payment_blank=rng.random(n) < 0.01,
        shipping_cents=shipping,
        tax_cents=tax,
        line_product=product,
        quantity=quantity,
        unit_cents=unit,
        discount_cents=discount,
    )


def _order_ids(day: date, count: int) -> pa.Array:
    return ids(f"O{day:%Y%m%d}-", np.arange(1, count + 1), 6)


def orders_table(day: date, orders: DayOrders) -> pa.Table:
    n = len(orders.lines)
    columns = {
        "order_id": _order_ids(day, n),
        "customer_id": ids("C", orders.customer + 1, 6),
        "order_ts": timestamps(day, orders.seconds, orders.ts_style, orders.ts_offset),
        "status": pick(STATUSES, orders.status),
        "payment_method": blank(pick(PAYMENT_METHODS, orders.payment), orders.payment_blank),
        "currency": pick(("USD",), np.zeros(n, dtype=np.int64)),
        "shipping_cost": money(orders.shipping_cents),
        "tax": money(orders.tax_cents),
    }
    columns["updated_at"] = columns["order_ts"]  # a new order last changed when it was placed
    return contract_table("orders", columns)


# Orders move on after they are placed: a processing order ships, a shipped one is delivered, and some
# are cancelled or refunded. Each day re-sends part of the previous day's open orders with their new status
# (status-only versions: the header without its lines), as shop platforms export changed orders.
UPDATE_SHARE = 0.3
NEXT_STATUS = {"processing": "shipped", "shipped": "delivered"}


def order_updates(rng: np.random.Generator, day: date, previous: pa.Table) -> pa.Table:
    """Versions of some of ``previous`` (a day's orders table) sent again on ``day`` with a later status."""
    status = previous.column("status").to_pylist()
    open_rows = np.flatnonzero([s in NEXT_STATUS for s in status])
    picked = np.sort(open_rows[rng.random(len(open_rows)) < UPDATE_SHARE])
    updates = previous.take(pa.array(picked, pa.int64()))
    new_status = [NEXT_STATUS[status[i]] for i in picked]
    returned = rng.random(len(picked)) < 0.1
    new_status = [("refunded" if s == "delivered" else "cancelled") if r else s for s, r in zip(new_status, returned)]
    updates = updates.set_column(updates.schema.get_field_index("status"), "status", pa.array(new_status, pa.string()))
    stamped = timestamps(day, rng.integers(0, DAY_SECONDS, len(picked)))
    return updates.set_column(updates.schema.get_field_index("updated_at"), "updated_at", stamped)


def order_items_table(day: date, orders: DayOrders) -> pa.Table:
    discount = orders.discount_cents
    columns = {
        "order_id": _order_ids(day, len(orders.lines)).take(
            pa.array(np.repeat(np.arange(len(orders.lines)), orders.lines))
        ),
        "line_number": as_text(within(orders.lines) + 1),
        "product_id": ids("P", orders.line_product + 1, 5),
        "quantity": as_text(orders.quantity),
        "unit_price": money(orders.unit_cents),
        "discount": blank(money(np.maximum(discount, 0)), discount < 0),
    }
    return contract_table("order_items", columns)
