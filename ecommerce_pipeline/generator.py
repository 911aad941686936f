"""Synthetic online store: deterministic, vectorised landing files for every entity of the contract.

A day is drawn from ``np.random.default_rng((seed, day ordinal))`` and the store carried over from the
day before (the customer and product pools), so a date range is reproducible byte for byte and no day
depends on the clock. The first day ships the whole catalog and customer base; later days ship only
new and changed records. Orders follow a weekly rhythm, customers are Pareto-loyal, products
Zipf-popular, and every order has a click-stream session that ends in its purchase. Defects are
injected last, from their own stream, so a defective store is the clean store plus counted defects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ecommerce_pipeline.contract import ENTITIES, EVENT_TYPES
from ecommerce_pipeline.transforms.customers import CALLING_CODES
from ecommerce_pipeline.transforms.sql import literal

FILE_FORMATS = ("csv", "jsonl", "parquet")  # also the files' extensions
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

EPOCH = date(1970, 1, 1)
DAY_SECONDS = 86_400
EVENTS_PER_LINE = 5
# Monday..Sunday; weekends run about a quarter above midweek and the week averages 1.
WEEKDAY_FACTORS = np.array([0.93, 0.90, 0.90, 0.95, 1.02, 1.16, 1.14])
# Shoppers sleep: few orders at night, a lunch bump and an evening peak (UTC hours).
HOUR_WEIGHTS = np.array([3, 2, 1, 1, 1, 2, 3, 5, 6, 7, 7, 8, 9, 8, 7, 7, 7, 8, 9, 10, 10, 9, 7, 5], dtype=float)

# --- the store's vocabulary -----------------------------------------------------------------------

CATALOG = {  # category: (median price in dollars, brands, {subcategory: product noun})
    "electronics": (
        89,
        ("Voltix", "Nexa", "Auralis", "Kobalt"),
        {"headphones": "Headphones", "smartphones": "Smartphone", "laptops": "Laptop", "cameras": "Camera"},
    ),
    "home": (
        45,
        ("Casa Nova", "Hearthly", "Oakline", "Lumen"),
        {"kitchen": "Blender", "bedding": "Duvet", "lighting": "Lamp", "decor": "Vase"},
    ),
    "fashion": (
        39,
        ("Northwind", "Velour", "Urbane", "Tidal"),
        {"tops": "T-Shirt", "shoes": "Sneakers", "outerwear": "Jacket", "accessories": "Scarf"},
    ),
    "beauty": (
        22,
        ("Glowe", "Purely", "Maison Rose", "Dermique"),
        {"skincare": "Serum", "makeup": "Lipstick", "fragrance": "Eau de Parfum", "haircare": "Shampoo"},
    ),
    "sports": (
        49,
        ("Stride", "Peakform", "Aquila", "Rally"),
        {"fitness": "Dumbbell Set", "running": "Running Shoes", "cycling": "Helmet", "outdoor": "Tent"},
    ),
    "toys": (
        25,
        ("Tinker", "Playfield", "Bloxy", "Wonderkin"),
        {"building": "Building Set", "dolls": "Doll", "games": "Board Game", "puzzles": "Puzzle"},
    ),
    "books": (
        16,
        ("Inkwell", "Paperlane", "Folio", "Quill"),
        {"fiction": "Novel", "cookbooks": "Cookbook", "children": "Picture Book", "business": "Handbook"},
    ),
    "grocery": (
        9,
        ("Harvest", "Goodfield", "Pantry Co", "Verde"),
        {"coffee": "Coffee Beans", "snacks": "Trail Mix", "tea": "Green Tea", "pantry": "Olive Oil"},
    ),
    "garden": (
        35,
        ("Greenway", "Terra", "Bloomhaus", "Rootwell"),
        {"tools": "Pruner", "planters": "Planter", "seeds": "Seed Kit", "furniture": "Patio Chair"},
    ),
    "automotive": (
        42,
        ("Torque", "Roadline", "Motiva", "Gearhead"),
        {"care": "Car Wax", "gadgets": "Dash Cam", "tools": "Tire Inflator", "interior": "Seat Cover"},
    ),
}
CATEGORIES = tuple(CATALOG)
SUBCATEGORIES = tuple(sub for _, _, subs in CATALOG.values() for sub in subs)
NOUNS = tuple(noun for _, _, subs in CATALOG.values() for noun in subs.values())
BRANDS = tuple(brand for _, brands, _ in CATALOG.values() for brand in brands)
SUBS_PER_CATEGORY = 4
BRANDS_PER_CATEGORY = 4
CATEGORY_MEDIAN_CENTS = np.array([median * 100 for median, _, _ in CATALOG.values()], dtype=float)
ADJECTIVES = tuple("Classic Pro Compact Ultra Eco Deluxe Essential Smart Premium Everyday Lite Max".split())
MODEL_LETTERS = tuple("ABCDEFGHJKLMNPRSTVXZ")

FEMALE_NAMES = tuple(
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Sofia Emma"
    " Olivia Aisha Priya Yuki Fatima Chloe Mia Ava Isabella Camila Grace".split()
)
MALE_NAMES = tuple(
    "James Robert John Michael David William Richard Joseph Thomas Carlos Daniel Matthew Anthony Mark"
    " Luis Wei Raj Kenji Ahmed Lucas Noah Ethan Liam Mateo Oliver".split()
)
FIRST_NAMES = FEMALE_NAMES + MALE_NAMES
LAST_NAMES = tuple(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez"
    " Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark"
    " Ramirez Lewis Robinson Walker Young Allen King Wright Scott Nguyen Hill Flores Green Adams Nelson"
    " Baker Hall Rivera Campbell Mitchell Carter Patel Kim".split()
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com", "inbox.example.net")
GENDERS = ("female", "male", "non_binary")
SEGMENTS = ("standard", "premium", "vip")

# (city, state, country, postal code or US ZIP prefix, US area code, sales tax rate)
PLACES = (
    ("New York", "NY", "US", "100", 212, 0.08875),
    ("Brooklyn", "NY", "US", "112", 718, 0.08875),
    ("Los Angeles", "CA", "US", "900", 213, 0.095),
    ("San Francisco", "CA", "US", "941", 415, 0.08625),
    ("San Diego", "CA", "US", "921", 619, 0.0775),
    ("Chicago", "IL", "US", "606", 312, 0.1025),
    ("Houston", "TX", "US", "770", 713, 0.0825),
    ("Austin", "TX", "US", "787", 512, 0.0825),
    ("Dallas", "TX", "US", "752", 214, 0.0825),
    ("Phoenix", "AZ", "US", "850", 602, 0.086),
    ("Philadelphia", "PA", "US", "191", 215, 0.08),
    ("Seattle", "WA", "US", "981", 206, 0.1025),
    ("Denver", "CO", "US", "802", 303, 0.0881),
    ("Boston", "MA", "US", "021", 617, 0.0625),
    ("Miami", "FL", "US", "331", 305, 0.07),
    ("Orlando", "FL", "US", "328", 407, 0.065),
    ("Atlanta", "GA", "US", "303", 404, 0.089),
    ("Portland", "OR", "US", "972", 503, 0.0),
    ("Minneapolis", "MN", "US", "554", 612, 0.08025),
    ("Nashville", "TN", "US", "372", 615, 0.0925),
    ("Charlotte", "NC", "US", "282", 704, 0.0725),
    ("Detroit", "MI", "US", "482", 313, 0.06),
    ("Columbus", "OH", "US", "432", 614, 0.075),
    ("Salt Lake City", "UT", "US", "841", 801, 0.0775),
    ("London", None, "GB", "EC1A 1BB", 0, 0.0),
    ("Manchester", None, "GB", "M1 1AE", 0, 0.0),
    ("Toronto", None, "CA", "M5V 2T6", 0, 0.0),
    ("Berlin", None, "DE", "10115", 0, 0.0),
    ("Paris", None, "FR", "75001", 0, 0.0),
    ("Madrid", None, "ES", "28001", 0, 0.0),
    ("Amsterdam", None, "NL", "1011 AB", 0, 0.0),
    ("Sydney", None, "AU", "2000", 0, 0.0),
    ("Sao Paulo", None, "BR", "01310-100", 0, 0.0),
    ("Mexico City", None, "MX", "06000", 0, 0.0),
)
PLACE_COUNTRY = np.array([p[2] for p in PLACES])
IS_US_PLACE = PLACE_COUNTRY == "US"
PLACE_WEIGHTS = np.where(IS_US_PLACE, 0.86 / IS_US_PLACE.sum(), 0.14 / (~IS_US_PLACE).sum())
AREA_CODES = np.array([p[4] for p in PLACES], dtype=np.int64)
TAX_RATES = np.array([p[5] for p in PLACES])
COUNTRIES = tuple(dict.fromkeys(p[2] for p in PLACES))
PLACE_COUNTRY_INDEX = np.array([COUNTRIES.index(c) for c in PLACE_COUNTRY])
COUNTRY_WEIGHTS = np.bincount(PLACE_COUNTRY_INDEX, weights=PLACE_WEIGHTS)

STATUSES = ("delivered", "shipped", "processing", "cancelled", "refunded")
STATUS_WEIGHTS = (0.55, 0.24, 0.11, 0.06, 0.04)
PAYMENT_METHODS = ("credit_card", "paypal", "debit_card", "apple_pay", "gift_card")
PAYMENT_WEIGHTS = (0.48, 0.21, 0.17, 0.09, 0.05)
QUANTITY_WEIGHTS = (0.72, 0.17, 0.06, 0.03, 0.02)  # quantities 1..5
# Most order times are UTC with "Z"; some exports drop the offset, a few write local time with one.
TS_STYLE_WEIGHTS = (0.85, 0.10, 0.05)  # Z, no offset, local time with offset
OFFSETS = (("+01:00", 60), ("+02:00", 120), ("+05:30", 330), ("-05:00", -300), ("-08:00", -480))

DEVICES = ("desktop", "mobile", "tablet")
DEVICE_WEIGHTS = (0.42, 0.48, 0.10)
SITE = "https://shop.example.com"
LANDING_PAGES = (f"{SITE}/", f"{SITE}/deals", f"{SITE}/new-arrivals", f"{SITE}/search?q=gift+ideas") + tuple(
    f"{SITE}/c/{c}" for c in CATEGORIES
)
CART_PAGE, CHECKOUT_PAGE, CONFIRMATION_PAGE = f"{SITE}/cart", f"{SITE}/checkout", f"{SITE}/checkout/confirmation"
REFERRERS = (
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://www.facebook.com/",
    "https://www.instagram.com/",
    "https://newsletter.example.com/",
)
REFERRER_WEIGHTS = (0.38, 0.06, 0.10, 0.08, 0.08)  # the remaining 30% arrive directly (no referrer)
# Share of sessions that stop at page views, product views, the cart, or checkout (no purchase).
BROWSE_DEPTH_WEIGHTS = (0.80, 0.14, 0.045, 0.015)
KNOWN_VISITOR_SHARE = 0.35

# Optional fields left empty in sparse exports, as a per-record property (stable across re-exports).
CUSTOMER_BLANKS = {
    "email": 0.02,
    "first_name": 0.01,
    "last_name": 0.01,
    "phone": 0.15,
    "date_of_birth": 0.3,
    "gender": 0.2,
    "postal_code": 0.04,
    "customer_segment": 0.08,
    "signup_date": 0.02,
}
PRODUCT_BLANKS = {"subcategory": 0.01, "brand": 0.02}


# --- public API -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerPool:
    """Every customer the store knows, as codes; customer i has id C{i+1}."""

    first: np.ndarray
    last: np.ndarray
    email_style: np.ndarray
    email_number: np.ndarray
    email_domain: np.ndarray
    phone_number: np.ndarray  # 7-digit local number; area code comes from the place
    phone_style: np.ndarray
    birth: np.ndarray  # days since 1970-01-01
    gender: np.ndarray
    place: np.ndarray
    zip_suffix: np.ndarray
    signup: np.ndarray  # days since 1970-01-01
    segment: np.ndarray
    active: np.ndarray
    blanks: np.ndarray  # bit i set: the i-th field of CUSTOMER_BLANKS is never filled in
    loyalty: np.ndarray  # Pareto propensity to order

    def __len__(self) -> int:
        return len(self.first)


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
        products = _new_products(rng, _catalog_size(lines_per_day))
        customers = _new_customers(rng, _initial_customers(lines_per_day), day, initial=True)
        shipped_products, shipped_customers = np.arange(len(products)), np.arange(len(customers))
    else:
        products, shipped_products = _catalog_changes(rng, state.products)
        customers, shipped_customers = _customer_changes(rng, state.customers, day, lines_per_day)

    tables = _day_tables(rng, day, lines_per_day, customers, products, shipped_customers, shipped_products)
    defect_rng = np.random.default_rng([seed, day.toordinal(), 1])
    tables, defects = _inject_defects(defect_rng, tables, defect_rate)
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
    orders = _orders(rng, _lines_today(rng, day, lines_per_day), customers, products)
    events = _sessions(rng, orders, customers, products, EVENTS_PER_LINE * len(orders.line_product))
    return {
        "customers": _customers_table(rng, customers, shipped_customers, day),
        "products": _products_table(rng, products, shipped_products, day),
        "orders": _orders_table(day, orders),
        "order_items": _order_items_table(day, orders),
        "events": _events_table(day, events, products),
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
            _WRITERS[file_format](table, path)
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


# --- vectorised helpers ---------------------------------------------------------------------------


def _choice(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def _weighted_pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn in proportion to ``weights`` (zero weights are never drawn); fast for large pools."""
    cdf = np.cumsum(weights, dtype=float)
    picked = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
    return np.minimum(picked, np.flatnonzero(weights > 0)[-1])


def _within(counts: np.ndarray) -> np.ndarray:
    """Position of each element within its group, for groups laid out as ``np.repeat(groups, counts)``."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


def _text(numbers: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    return _join(prefix, pc.utf8_lpad(_text(numbers), width, "0"))


def _pick(vocabulary, index: np.ndarray) -> pa.Array:
    """vocabulary[index] as strings; negative indices give null."""
    vocabulary = vocabulary if isinstance(vocabulary, pa.Array) else pa.array(list(vocabulary), pa.string())
    index = np.asarray(index, dtype=np.int64)
    return vocabulary.take(pa.array(index, mask=index < 0))


def _money(cents: np.ndarray) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    return _join(_text(cents // 100), ".", pc.utf8_lpad(_text(cents % 100), 2, "0"))


def _blank(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), values)


def _iso_dates(days_since_epoch: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(days_since_epoch, dtype=np.int32), pa.date32()), pa.string())


def _day_number(day: date) -> int:
    return (day - EPOCH).days


def _timestamps(
    day: date, seconds: np.ndarray, style: np.ndarray | None = None, offset: np.ndarray | None = None
) -> pa.Array:
    """ISO 8601 for instants ``seconds`` into ``day`` (UTC): with Z (style 0), without offset (style 1,
    meaning UTC by contract) or as local time with an offset (style 2, ``offset`` indexing OFFSETS)."""
    epoch = _day_number(day) * DAY_SECONDS + np.asarray(seconds, dtype=np.int64)
    if style is None:
        text = pc.cast(pa.array(epoch, pa.timestamp("s")), pa.string())
        return _join(pc.utf8_replace_slice(text, 10, 11, "T"), "Z")
    shift = np.where(style == 2, np.array([m for _, m in OFFSETS])[offset] * 60, 0)
    text = pc.cast(pa.array(epoch + shift, pa.timestamp("s")), pa.string())
    text = pc.if_else(pa.array(style == 1), text, pc.utf8_replace_slice(text, 10, 11, "T"))
    suffix = np.where(style == 2, 2 + offset, style)
    return _join(text, _pick(("Z", "") + tuple(label for label, _ in OFFSETS), suffix))


def _times_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    hours = _choice(rng, HOUR_WEIGHTS, size)
    return hours * 3600 + rng.integers(0, 3600, size)


def _blank_bits(rng: np.random.Generator, size: int, shares: dict[str, float]) -> np.ndarray:
    bits = np.zeros(size, dtype=np.int64)
    for i, share in enumerate(shares.values()):
        bits |= (rng.random(size) < share).astype(np.int64) << i
    return bits


def _apply_blanks(columns: dict[str, pa.Array], bits: np.ndarray, shares: dict[str, float]) -> None:
    for i, name in enumerate(shares):
        columns[name] = _blank(columns[name], (bits >> i) & 1 == 1)


def _table(entity: str, columns: dict[str, pa.Array]) -> pa.Table:
    names = ENTITIES[entity].column_names
    if set(columns) != set(names):
        raise AssertionError(f"{entity}: generated {sorted(columns)}, contract has {names}")
    return pa.table({n: columns[n].cast(pa.string()) for n in names})


def _concat_pools(pool, extra):
    return type(pool)(**{f.name: np.concatenate([getattr(pool, f.name), getattr(extra, f.name)]) for f in fields(pool)})


# --- products -------------------------------------------------------------------------------------


def _zipf_weights(ranks: np.ndarray) -> np.ndarray:
    # Zipf-Mandelbrot: the top tenth of the catalog sells about three quarters of the units, yet no
    # single product takes more than a few percent.
    return 1.0 / (ranks.astype(float) + 4.0)


def _new_products(rng: np.random.Generator, size: int, ranks: np.ndarray | None = None) -> ProductPool:
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
        blanks=_blank_bits(rng, size, PRODUCT_BLANKS),
        popularity=popularity,
    )


def _catalog_changes(rng: np.random.Generator, pool: ProductPool) -> tuple[ProductPool, np.ndarray]:
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
    new = _new_products(rng, new_count, ranks=rng.integers(1, n + 1, new_count))
    shipped = np.concatenate([np.union1d(repriced, delisted), np.arange(n, n + new_count)])
    return _concat_pools(pool, new), shipped


def _products_table(rng: np.random.Generator, pool: ProductPool, index: np.ndarray, day: date) -> pa.Table:
    category, sub = pool.category[index], pool.subcategory[index]
    model = pool.model[index]
    columns = {
        "product_id": _ids("P", index + 1, 5),
        "product_name": _join(
            _pick(BRANDS, pool.brand[index]),
            " ",
            _pick(ADJECTIVES, pool.adjective[index]),
            " ",
            _pick(NOUNS, sub),
            " ",
            _pick(MODEL_LETTERS, model // 900),
            _text(100 + model % 900),
        ),
        "category": _pick(CATEGORIES, category),
        "subcategory": _pick(SUBCATEGORIES, sub),
        "brand": _pick(BRANDS, pool.brand[index]),
        "base_price": _money(pool.base_cents[index]),
        "current_price": _money(pool.price_cents[index]),
        "cost": _money(pool.cost_cents[index]),
        "is_active": _pick(("false", "true"), pool.active[index].astype(np.int64)),
        "updated_at": _timestamps(day, rng.integers(0, DAY_SECONDS, len(index))),
    }
    _apply_blanks(columns, pool.blanks[index], PRODUCT_BLANKS)
    return _table("products", columns)


# --- customers ------------------------------------------------------------------------------------


def _new_customers(rng: np.random.Generator, size: int, day: date, *, initial: bool) -> CustomerPool:
    today = _day_number(day)
    age_days = (np.clip(rng.normal(40, 13, size), 18, 85) * 365.25).astype(np.int64)
    # The initial base signed up over the past three years; later customers sign up on the day.
    signup = today - rng.integers(0, 3 * 365, size) if initial else np.full(size, today)
    first = rng.integers(0, len(FIRST_NAMES), size)
    return CustomerPool(
        first=first,
        last=rng.integers(0, len(LAST_NAMES), size),
        email_style=_choice(rng, (0.55, 0.2, 0.15, 0.1), size),
        email_number=np.where(rng.random(size) < 0.7, rng.integers(1, 1000, size), 0),
        email_domain=_choice(rng, (0.5, 0.2, 0.15, 0.1, 0.05), size),
        phone_number=rng.integers(2_000_000, 10_000_000, size),
        phone_style=_choice(rng, (0.4, 0.35, 0.25), size),
        birth=today - age_days,
        gender=np.where(
            rng.random(size) < 0.03, GENDERS.index("non_binary"), (first >= len(FEMALE_NAMES)).astype(np.int64)
        ),
        place=_choice(rng, PLACE_WEIGHTS, size),
        zip_suffix=rng.integers(0, 100, size),
        signup=signup,
        segment=_choice(rng, (0.75, 0.2, 0.05), size),
        active=rng.random(size) < 0.97,
        blanks=_blank_bits(rng, size, CUSTOMER_BLANKS),
        loyalty=np.minimum(rng.pareto(1.5, size) + 1.0, 12.0),
    )


def _customer_changes(
    rng: np.random.Generator, pool: CustomerPool, day: date, lines_per_day: int
) -> tuple[CustomerPool, np.ndarray]:
    """A day's signups and a few changed customers (new e-mail, a move, a new segment)."""
    n = len(pool)
    changed = np.sort(rng.choice(n, size=min(n, 1 + rng.poisson(0.002 * n)), replace=False))
    what = rng.integers(0, 3, len(changed))
    new_email, moved, resegmented = changed[what == 0], changed[what == 1], changed[what == 2]

    style, number, domain = pool.email_style.copy(), pool.email_number.copy(), pool.email_domain.copy()
    style[new_email] = 0  # first.last123@: the new address always differs from the old one's number
    number[new_email] = rng.integers(1, 1000, len(new_email))
    domain[new_email] = rng.integers(0, len(EMAIL_DOMAINS), len(new_email))
    place, zip_suffix = pool.place.copy(), pool.zip_suffix.copy()
    place[moved] = _choice(rng, PLACE_WEIGHTS, len(moved))
    zip_suffix[moved] = rng.integers(0, 100, len(moved))
    segment = pool.segment.copy()
    segment[resegmented] = rng.integers(0, len(SEGMENTS), len(resegmented))

    pool = replace(
        pool,
        email_style=style,
        email_number=number,
        email_domain=domain,
        place=place,
        zip_suffix=zip_suffix,
        segment=segment,
    )
    signups = _new_customers(rng, 1 + rng.poisson(lines_per_day / 40), day, initial=False)
    shipped = np.concatenate([changed, np.arange(n, n + len(signups))])
    return _concat_pools(pool, signups), shipped


def _emails(pool: CustomerPool, index: np.ndarray) -> pa.Array:
    first = _pick([f.lower() for f in FIRST_NAMES], pool.first[index])
    last = _pick([name.lower() for name in LAST_NAMES], pool.last[index])
    initial = _pick([f[0].lower() for f in FIRST_NAMES], pool.first[index])
    number = pool.email_number[index]
    suffix = pc.if_else(pa.array(number > 0), _text(number), "")
    local = pc.choose(
        pa.array(pool.email_style[index]),
        _join(first, ".", last, suffix),
        _join(first, last, suffix),
        _join(initial, ".", last, suffix),
        _join(first, "_", last),
    )
    return _join(local, "@", _pick(EMAIL_DOMAINS, pool.email_domain[index]))


def _phones(pool: CustomerPool, index: np.ndarray) -> pa.Array:
    """US numbers in three common spellings; other countries in international form with their code."""
    place = pool.place[index]
    area = _text(AREA_CODES[place])
    local = pool.phone_number[index]
    exchange, line = _text(local // 10_000), pc.utf8_lpad(_text(local % 10_000), 4, "0")
    us = pc.choose(
        pa.array(pool.phone_style[index]),
        _join("+1 ", area, " ", exchange, " ", line),
        _join("(", area, ") ", exchange, "-", line),
        _join(area, exchange, line),
    )
    codes = _pick([CALLING_CODES[c] for c in PLACE_COUNTRY], place)
    exchange_abroad = _text(20 + place % 60)
    abroad = _join("+", codes, " ", exchange_abroad, " ", exchange, " ", line)
    return pc.if_else(pa.array(IS_US_PLACE[place]), us, abroad)


def _customers_table(rng: np.random.Generator, pool: CustomerPool, index: np.ndarray, day: date) -> pa.Table:
    place = pool.place[index]
    postal = _pick([p[3] for p in PLACES], place)
    columns = {
        "customer_id": _ids("C", index + 1, 6),
        "email": _emails(pool, index),
        "first_name": _pick(FIRST_NAMES, pool.first[index]),
        "last_name": _pick(LAST_NAMES, pool.last[index]),
        "phone": _phones(pool, index),
        "date_of_birth": _iso_dates(pool.birth[index]),
        "gender": _pick(GENDERS, pool.gender[index]),
        "city": _pick([p[0] for p in PLACES], place),
        "state": _pick([p[1] for p in PLACES], place),
        "country": _pick(PLACE_COUNTRY, place),
        "postal_code": pc.if_else(
            pa.array(IS_US_PLACE[place]), _join(postal, pc.utf8_lpad(_text(pool.zip_suffix[index]), 2, "0")), postal
        ),
        "signup_date": _iso_dates(pool.signup[index]),
        "customer_segment": _pick(SEGMENTS, pool.segment[index]),
        "is_active": _pick(("false", "true"), pool.active[index].astype(np.int64)),
        "updated_at": _timestamps(day, rng.integers(0, DAY_SECONDS, len(index))),
    }
    _apply_blanks(columns, pool.blanks[index], CUSTOMER_BLANKS)
    return _table("customers", columns)


# --- orders ---------------------------------------------------------------------------------------


@dataclass
class _DayOrders:
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


def _orders(rng: np.random.Generator, lines_target: int, customers: CustomerPool, products: ProductPool) -> _DayOrders:
    lines = _lines_per_order(rng, lines_target)
    n, total = len(lines), int(lines.sum())
    customer = _weighted_pick(rng, customers.loyalty * customers.active, n)

    product = _weighted_pick(rng, products.popularity * products.active, total)
    quantity = 1 + _choice(rng, QUANTITY_WEIGHTS, total)
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
    style = _choice(rng, TS_STYLE_WEIGHTS, n)
    return _DayOrders(
        lines=lines,
        customer=customer,
        seconds=np.sort(_times_of_day(rng, n)),
        ts_style=style,
        ts_offset=rng.integers(0, len(OFFSETS), n),
        status=_choice(rng, STATUS_WEIGHTS, n),
        payment=_choice(rng, PAYMENT_WEIGHTS, n),
        payment_blank=rng.random(n) < 0.01,
        shipping_cents=shipping,
        tax_cents=tax,
        line_product=product,
        quantity=quantity,
        unit_cents=unit,
        discount_cents=discount,
    )


def _order_ids(day: date, count: int) -> pa.Array:
    return _ids(f"O{day:%Y%m%d}-", np.arange(1, count + 1), 6)


def _orders_table(day: date, orders: _DayOrders) -> pa.Table:
    n = len(orders.lines)
    columns = {
        "order_id": _order_ids(day, n),
        "customer_id": _ids("C", orders.customer + 1, 6),
        "order_ts": _timestamps(day, orders.seconds, orders.ts_style, orders.ts_offset),
        "status": _pick(STATUSES, orders.status),
        "payment_method": _blank(_pick(PAYMENT_METHODS, orders.payment), orders.payment_blank),
        "currency": _pick(("USD",), np.zeros(n, dtype=np.int64)),
        "shipping_cost": _money(orders.shipping_cents),
        "tax": _money(orders.tax_cents),
    }
    columns["updated_at"] = columns["order_ts"]  # a new order last changed when it was placed
    return _table("orders", columns)


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
    stamped = _timestamps(day, rng.integers(0, DAY_SECONDS, len(picked)))
    return updates.set_column(updates.schema.get_field_index("updated_at"), "updated_at", stamped)


def _order_items_table(day: date, orders: _DayOrders) -> pa.Table:
    discount = orders.discount_cents
    columns = {
        "order_id": _order_ids(day, len(orders.lines)).take(
            pa.array(np.repeat(np.arange(len(orders.lines)), orders.lines))
        ),
        "line_number": _text(_within(orders.lines) + 1),
        "product_id": _ids("P", orders.line_product + 1, 5),
        "quantity": _text(orders.quantity),
        "unit_price": _money(orders.unit_cents),
        "discount": _blank(_money(np.maximum(discount, 0)), discount < 0),
    }
    return _table("order_items", columns)


# --- click-stream sessions ------------------------------------------------------------------------


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


def _purchase_sessions(rng: np.random.Generator, orders: _DayOrders) -> tuple[np.ndarray, np.ndarray]:
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
    depth = _choice(rng, BROWSE_DEPTH_WEIGHTS, size)
    views = np.where(depth >= 1, 1 + np.minimum(rng.poisson(0.8, size), 5), 0)
    counts = np.zeros((size, len(EVENT_TYPES)), dtype=np.int64)
    counts[:, STAGE["page_view"]] = 1 + (rng.random(size) < 0.2)
    counts[:, STAGE["product_view"]] = views
    counts[:, STAGE["add_to_cart"]] = np.where(depth >= 2, np.minimum(views, 1 + (rng.random(size) < 0.3)), 0)
    counts[:, STAGE["remove_from_cart"]] = (depth >= 2) & (rng.random(size) < 0.3)
    counts[:, STAGE["checkout_start"]] = depth == 3
    return counts[: int(np.searchsorted(np.cumsum(counts.sum(axis=1)), event_budget)) + 1]


def _sessions(
    rng: np.random.Generator, orders: _DayOrders, customers: CustomerPool, products: ProductPool, target_events: int
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
        rank = _within(counts[:, k])
        pos = session_start[owner] + stage_start[owner, k] + rank
        event_type[pos] = k
        return owner, rank, pos

    for stage in ("page_view", "checkout_start", "purchase"):
        lay_out(stage)
    popular = products.popularity * products.active

    owner, rank, pos = lay_out("product_view")
    browse_views = int(counts[n_orders:, STAGE["product_view"]].sum())
    viewed_products = np.concatenate([orders.line_product[viewed], _weighted_pick(rng, popular, browse_views)])
    product[pos] = viewed_products
    first_view = np.cumsum(counts[:, STAGE["product_view"]]) - counts[:, STAGE["product_view"]]

    # Buyers add their order's lines (then perhaps one product they remove); browsers add what they viewed.
    owner, rank, pos = lay_out("add_to_cart")
    buyer = owner < n_orders
    first_line = np.cumsum(orders.lines) - orders.lines
    is_line = buyer & (rank < orders.lines[np.minimum(owner, n_orders - 1)])
    added = np.empty(len(pos), dtype=np.int64)
    added[is_line] = orders.line_product[first_line[owner[is_line]] + rank[is_line]]
    added[buyer & ~is_line] = _weighted_pick(rng, popular, int((buyer & ~is_line).sum()))
    added[~buyer] = viewed_products[first_view[owner[~buyer]] + rank[~buyer]]
    product[pos] = added

    owner, rank, pos = lay_out("remove_from_cart")
    k = STAGE["add_to_cart"]
    product[pos] = product[session_start[owner] + stage_start[owner, k] + counts[owner, k] - 1]

    seconds = _event_times(rng, orders, totals, session_start, browse)
    page, referrer = _pages(rng, event_type, product, session_start)

    known = rng.random(browse) < KNOWN_VISITOR_SHARE
    customer = np.concatenate([orders.customer, np.where(known, _weighted_pick(rng, customers.loyalty, browse), -1)])
    visitor_country = _choice(rng, COUNTRY_WEIGHTS, n_sessions)
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
        device=_choice(rng, DEVICE_WEIGHTS, n_sessions),
        country=country,
    )


def _event_times(
    rng: np.random.Generator, orders: _DayOrders, totals: np.ndarray, session_start: np.ndarray, browse: int
) -> np.ndarray:
    """Seconds into the day: purchase sessions end at their order's time, browse sessions start any time."""
    n_events = int(totals.sum())
    gaps = 1 + rng.exponential(40.0, n_events).astype(np.int64)
    gaps[session_start] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[session_start], totals)
    duration = elapsed[session_start + totals - 1]
    anchor = np.concatenate([orders.seconds, _times_of_day(rng, browse)])
    session = np.repeat(np.arange(len(totals)), totals)
    is_purchase = session < len(orders.lines)
    return np.where(
        is_purchase,
        np.maximum(0, anchor[session] - (duration[session] - elapsed)),
        np.minimum(DAY_SECONDS - 1, anchor[session] + elapsed),
    )


def _url_vocabulary(products: ProductPool) -> pa.Array:
    fixed = pa.array(list(LANDING_PAGES + (CART_PAGE, CHECKOUT_PAGE, CONFIRMATION_PAGE) + REFERRERS), pa.string())
    product_pages = _join(f"{SITE}/p/", _ids("P", np.arange(1, len(products) + 1), 5))
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
    page[browsing] = _choice(rng, np.linspace(3, 1, len(LANDING_PAGES)), int(browsing.sum()))
    referrer = np.empty_like(page)
    referrer[1:] = page[:-1]
    external = _choice(rng, REFERRER_WEIGHTS + (1 - sum(REFERRER_WEIGHTS),), len(session_start))
    referrer[session_start] = np.where(external < len(REFERRERS), first_referrer + external, -1)
    return page, referrer


def _events_table(day: date, events: _DayEvents, products: ProductPool) -> pa.Table:
    session_ids = _ids(f"S{day:%Y%m%d}-", events.session_number, 7)
    session_customers = _ids("C", events.customer + 1, 6)
    session_customers = _blank(session_customers, events.customer < 0)
    session = pa.array(events.session)
    urls = _url_vocabulary(products)
    columns = {
        "event_id": _ids(f"E{day:%Y%m%d}-", np.arange(1, len(events.seconds) + 1), 8),
        "session_id": session_ids.take(session),
        "event_type": _pick(EVENT_TYPES, events.event_type),
        "event_ts": _timestamps(day, events.seconds),
        "customer_id": session_customers.take(session),
        "product_id": _pick(_ids("P", np.arange(1, len(products) + 1), 5), events.product),
        "page_url": _pick(urls, events.page),
        "referrer_url": _pick(urls, events.referrer),
        "device_type": _pick(DEVICES, events.device[events.session]),
        "country": _pick(COUNTRIES, events.country[events.session]),
    }
    return _table("events", columns)


# --- defects --------------------------------------------------------------------------------------


def _inject_defects(
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
        table = _replace(table, column, picked, _join("-", values))
    return table


def _unknown_product(rng, table: pa.Table, entity: str, rows: np.ndarray) -> pa.Table:
    return _replace(table, "product_id", rows, _ids("P-UNKNOWN-", rng.integers(0, 100_000, len(rows)), 5))


def _bad_timestamp(rng, table: pa.Table, entity: str, rows: np.ndarray) -> pa.Table:
    column = next(c.name for c in ENTITIES[entity].columns if c.type == "timestamp" and c.required)
    return _replace(table, column, rows, _pick(BAD_TIMESTAMPS, rng.integers(0, len(BAD_TIMESTAMPS), len(rows))))


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


# --- writers --------------------------------------------------------------------------------------


def _write_csv(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(table, path)


def _write_jsonl(table: pa.Table, path: Path) -> None:
    con = duckdb.connect()
    try:
        con.register("day_table", table)
        con.execute(f"COPY day_table TO {literal(str(path))} (FORMAT JSON)")
    finally:
        con.close()


def _write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="snappy")


_WRITERS = {"csv": _write_csv, "jsonl": _write_jsonl, "parquet": _write_parquet}
