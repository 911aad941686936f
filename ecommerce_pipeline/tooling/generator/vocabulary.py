"""The demo store's vocabulary: its catalog, names, places, statuses, pages, and the weights its draws use."""

from __future__ import annotations

import numpy as np

# Monday..Sunday; weekends run about a quarter above midweek and the week averages 1.
WEEKDAY_FACTORS = np.array([0.93, 0.90, 0.90, 0.95, 1.02, 1.16, 1.14])
# Shoppers sleep: few orders at night, a lunch bump and an evening peak (UTC hours).
HOUR_WEIGHTS = np.array([3, 2, 1, 1, 1, 2, 3, 5, 6, 7, 7, 8, 9, 8, 7, 7, 7, 8, 9, 10, 10, 9, 7, 5], dtype=float)

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
