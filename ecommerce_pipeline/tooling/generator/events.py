"""The click stream: one purchase session per order, browse sessions around them, and the events landing table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from ecommerce_pipeline.contract import EVENT_TYPES
from ecommerce_pipeline.tooling.generator.arrays import (
    DAY_SECONDS,
    blank,
    choice,
    contract_table,
    ids,
    join,
    pick,
    times_of_day,
    timestamps,
    weighted_pick,
    within,
)
from ecommerce_pipeline.tooling.generator.customers import CustomerPool
from ecommerce_pipeline.tooling.generator.orders import DayOrders
from ecommerce_pipeline.tooling.generator.products import ProductPool
from ecommerce_pipeline.tooling.generator.vocabulary import (
    BROWSE_DEPTH_WEIGHTS,
    CART_PAGE,
    CHECKOUT_PAGE,
    CONFIRMATION_PAGE,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DEVICE_WEIGHTS,
    DEVICES,
    KNOWN_VISITOR_SHARE,
    LANDING_PAGES,
    PLACE_COUNTRY_INDEX,
    REFERRER_WEIGHTS,
    REFERRERS,
    SITE,
)


@dataclass
class _DayEvents:
    """Events sorted by time; session-level attributes are indexed by ``session``."""

    session: np.ndarray
    session_number: np.ndarray  # per session, numbered by start time
    event_type: np.ndarray  # index into EVENT_TYPES
    seconds: np.ndarray
    product: np.ndarray  # -1: none
    page: np.ndarray  # index into _url_vocabulary()
    referrer: np.ndarray  # index into _url_vocabulary(), -1: direct
    customer: np.ndarray  # per session, -1: anonymous
    device: np.ndarray  # per session
    country: np.ndarray  # per session


STAGE = {name: i for i, name in enumerate(EVENT_TYPES)}  # events of a session appear in this order


def _purchase_sessions(rng: np.random.Generator, orders: DayOrders) -> tuple[np.ndarray, np.ndarray]:
    """Events per stage of each order's session, and which order lines' products the buyer viewed.

    A buyer views at least the first line's product, adds every line to the cart, sometimes adds and
    removes one more product, starts checkout and purchases.
    """
    n = len(orders.lines)
    viewed = rng.random(len(orders.line_product)) < 0.5
    viewed[np.cumsum(orders.lines) - orders.lines] = True
    removes = rng.random(n) < 0.08
    counts = np.zeros((n, len(EVENT_TYPES)), dtype=np.int64)
    counts[:, STAGE["page_view"]] = 1 + (rng.random(n) < 0.1)
    counts[:, STAGE["product_view"]] = np.bincount(np.repeat(np.arange(n), orders.lines), weights=viewed, minlength=n)
    counts[:, STAGE["add_to_cart"]] = orders.lines + removes
    counts[:, STAGE["remove_from_cart"]] = removes
    counts[:, STAGE["checkout_start"]] = 1
    counts[:, STAGE["purchase"]] = 1
    return counts, viewed


def _browse_sessions(rng: np.random.Generator, event_budget: int) -> np.ndarray:
    """Events per stage of sessions that never buy, enough to spend ``event_budget`` events.

    Most only view pages; some view products, a few fill a cart (and sometimes empty it), fewer still
    abandon checkout.
    """
    size = max(1, int(event_budget / 1.4) + 16)  # sessions average about 1.7 events: draw more, then trim
    depth = choice(rng, BROWSE_DEPTH_WEIGHTS, size)
    views = np.where(depth >= 1, 1 + np.minimum(rng.poisson(0.8, size), 5), 0)
    counts = np.zeros((size, len(EVENT_TYPES)), dtype=np.int64)
    counts[:, STAGE["page_view"]] = 1 + (rng.random(size) < 0.2)
    counts[:, STAGE["product_view"]] = views
    counts[:, STAGE["add_to_cart"]] = np.where(depth >= 2, np.minimum(views, 1 + (rng.random(size) < 0.3)), 0)
    counts[:, STAGE["remove_from_cart"]] = (depth >= 2) & (rng.random(size) < 0.3)
    counts[:, STAGE["checkout_start"]] = depth == 3
    return counts[: int(np.searchsorted(np.cumsum(counts.sum(axis=1)), event_budget)) + 1]


def draw_sessions(
    rng: np.random.Generator, orders: DayOrders, customers: CustomerPool, products: ProductPool, target_events: int
) -> _DayEvents:
    """The day's click stream: one purchase session per order, then browse sessions up to ``target_events``.

    Sessions are laid out one after the other, their events in stage order, so each stage's events can
    be placed with arithmetic on the count matrix instead of a per-session loop.
    """
    n_orders = len(orders.lines)
    buying, viewed = _purchase_sessions(rng, orders)
    browsing = _browse_sessions(rng, target_events - int(buying.sum()))
    counts = np.vstack([buying, browsing])
    n_sessions, browse = len(counts), len(browsing)
    totals = counts.sum(axis=1)
    session_start = np.cumsum(totals) - totals
    stage_start = np.cumsum(counts, axis=1) - counts
    event_type = np.empty(int(totals.sum()), dtype=np.int64)
    product = np.full(len(event_type), -1, dtype=np.int64)

    def lay_out(stage: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Session, rank within the stage and event position of every event of ``stage``."""
        k = STAGE[stage]
        owner = np.repeat(np.arange(n_sessions), counts[:, k])
        rank = within(counts[:, k])
        pos = session_start[owner] + stage_start[owner, k] + rank
        event_type[pos] = k
        return owner, rank, pos

    for stage in ("page_view", "checkout_start", "purchase"):
        lay_out(stage)
    popular = products.popularity * products.active

    owner, rank, pos = lay_out("product_view")
    browse_views = int(counts[n_orders:, STAGE["product_view"]].sum())
    viewed_products = np.concatenate([orders.line_product[viewed], weighted_pick(rng, popular, browse_views)])
    product[pos] = viewed_products
    first_view = np.cumsum(counts[:, STAGE["product_view"]]) - counts[:, STAGE["product_view"]]

    # Buyers add their order's lines (then perhaps one product they remove); browsers add what they viewed.
    owner, rank, pos = lay_out("add_to_cart")
    buyer = owner < n_orders
    first_line = np.cumsum(orders.lines) - orders.lines
    is_line = buyer & (rank < orders.lines[np.minimum(owner, n_orders - 1)])
    added = np.empty(len(pos), dtype=np.int64)
    added[is_line] = orders.line_product[first_line[owner[is_line]] + rank[is_line]]
    added[buyer & ~is_line] = weighted_pick(rng, popular, int((buyer & ~is_line).sum()))
    added[~buyer] = viewed_products[first_view[owner[~buyer]] + rank[~buyer]]
    product[pos] = added

    owner, rank, pos = lay_out("remove_from_cart")
    k = STAGE["add_to_cart"]
    product[pos] = product[session_start[owner] + stage_start[owner, k] + counts[owner, k] - 1]

    seconds = _event_times(rng, orders, totals, session_start, browse)
    page, referrer = _pages(rng, event_type, product, session_start)

    known = rng.random(browse) < KNOWN_VISITOR_SHARE
    customer = np.concatenate([orders.customer, np.where(known, weighted_pick(rng, customers.loyalty, browse), -1)])
    visitor_country = choice(rng, COUNTRY_WEIGHTS, n_sessions)
    country = np.where(customer >= 0, PLACE_COUNTRY_INDEX[customers.place[np.maximum(customer, 0)]], visitor_country)

    # Click streams arrive in time order; a stable sort keeps a session's own order on equal seconds.
    order = np.argsort(seconds, kind="stable")
    session_number = np.empty(n_sessions, dtype=np.int64)
    session_number[np.argsort(seconds[session_start], kind="stable")] = np.arange(1, n_sessions + 1)
    session = np.repeat(np.arange(n_sessions), totals)
    return _DayEvents(
        session=session[order],
        session_number=session_number,
        event_type=event_type[order],
        seconds=seconds[order],
        product=product[order],
        page=page[order],
        referrer=referrer[order],
        customer=customer,
        device=choice(rng, DEVICE_WEIGHTS, n_sessions),
        country=country,
    )


def _event_times(
    rng: np.random.Generator, orders: DayOrders, totals: np.ndarray, session_start: np.ndarray, browse: int
) -> np.ndarray:
    """Seconds into the day: purchase sessions end at their order's time, browse sessions start any time."""
    n_events = int(totals.sum())
    gaps = 1 + rng.exponential(40.0, n_events).astype(np.int64)
    gaps[session_start] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[session_start], totals)
    duration = elapsed[session_start + totals - 1]
    anchor = np.concatenate([orders.seconds, times_of_day(rng, browse)])
    session = np.repeat(np.arange(len(totals)), totals)
    is_purchase = session < len(orders.lines)
    return np.where(
        is_purchase,
        np.maximum(0, anchor[session] - (duration[session] - elapsed)),
        np.minimum(DAY_SECONDS - 1, anchor[session] + elapsed),
    )


def _url_vocabulary(products: ProductPool) -> pa.Array:
    fixed = pa.array(list(LANDING_PAGES + (CART_PAGE, CHECKOUT_PAGE, CONFIRMATION_PAGE) + REFERRERS), pa.string())
    product_pages = join(f"{SITE}/p/", ids("P", np.arange(1, len(products) + 1), 5))
    return pa.concat_arrays([fixed, product_pages])


def _pages(
    rng: np.random.Generator, event_type: np.ndarray, product: np.ndarray, session_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Page of each event (index into the URL vocabulary) and its referrer: the previous page, or an
    external site for a session's first event (-1 for direct visits)."""
    cart, checkout, confirmation = (len(LANDING_PAGES) + i for i in range(3))
    first_referrer = len(LANDING_PAGES) + 3
    first_product_page = first_referrer + len(REFERRERS)
    page = first_product_page + product  # product views and cart additions happen on the product's page
    page[event_type == STAGE["remove_from_cart"]] = cart
    page[event_type == STAGE["checkout_start"]] = checkout
    page[event_type == STAGE["purchase"]] = confirmation
    browsing = event_type == STAGE["page_view"]
    page[browsing] = choice(rng, np.linspace(3, 1, len(LANDING_PAGES)), int(browsing.sum()))
    referrer = np.empty_like(page)
    referrer[1:] = page[:-1]
    external = choice(rng, REFERRER_WEIGHTS + (1 - sum(REFERRER_WEIGHTS),), len(session_start))
    referrer[session_start] = np.where(external < len(REFERRERS), first_referrer + external, -1)
    return page, referrer


def events_table(day: date, events: _DayEvents, products: ProductPool) -> pa.Table:
    session_ids = ids(f"S{day:%Y%m%d}-", events.session_number, 7)
    session_customers = ids("C", events.customer + 1, 6)
    session_customers = blank(session_customers, events.customer < 0)
    session = pa.array(events.session)
    urls = _url_vocabulary(products)
    columns = {
        "event_id": ids(f"E{day:%Y%m%d}-", np.arange(1, len(events.seconds) + 1), 8),
        "session_id": session_ids.take(session),
        "event_type": pick(EVENT_TYPES, events.event_type),
        "event_ts": timestamps(day, events.seconds),
        "customer_id": session_customers.take(session),
        "product_id": pick(ids("P", np.arange(1, len(products) + 1), 5), events.product),
        "page_url": pick(urls, events.page),
        "referrer_url": pick(urls, events.referrer),
        "device_type": pick(DEVICES, events.device[events.session]),
        "country": pick(COUNTRIES, events.country[events.session]),
    }
    return contract_table("events", columns)
