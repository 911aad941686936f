"""Convert the public Olist Brazilian e-commerce CSV layout into the landing contract.

Olist ships one row per order in ``customers.csv`` (its ``customer_id`` is per order); the person is
``customer_unique_id``, which becomes our customer. Each ``order_items.csv`` row is one unit sold at
``price``; ``freight_value`` is shipping, summed per order. Categories are translated to English where
the translation file has them. Every order lands in the folder of its purchase date, together with
the customer and product records it refers to, so any day or range can be run on its own.
Olist timestamps carry no offset; the landing contract reads them as UTC, which keeps the purchase
date as Olist shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

REQUIRED_FILES = ("orders.csv", "order_items.csv", "customers.csv", "products.csv")
TRANSLATION_FILE = "product_category_name_translation.csv"
PAYMENTS_FILE = "order_payments.csv"
CURRENCY = "BRL"
LANDING_FILE_NAME = "olist.csv"


@dataclass(frozen=True)
class OlistLanding:
    """The four landing entities, each a frame with a ``business_date`` column (the day folder)."""

    customers: pd.DataFrame
    products: pd.DataFrame
    orders: pd.DataFrame
    order_items: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        return {
            "customers": self.customers,
            "products": self.products,
            "orders": self.orders,
            "order_items": self.order_items,
        }


def read_olist(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Read the Olist CSVs as strings (ids and zip prefixes must not become numbers)."""
    folder = Path(folder)
    missing = [name for name in REQUIRED_FILES if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks the Olist file(s) {', '.join(missing)}")
    names = [*REQUIRED_FILES, TRANSLATION_FILE, PAYMENTS_FILE]
    return {
        name.removesuffix(".csv"): pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        for name in names
        if (folder / name).exists()
    }


def _iso(timestamp: pd.Series) -> pd.Series:
    return timestamp.str.strip().str.replace(" ", "T", n=1, regex=False)


def convert_olist(tables: dict[str, pd.DataFrame]) -> OlistLanding:
    """Pure conversion from Olist frames (as read by ``read_olist``) to landing records per business day."""
    orders = tables["orders"]
    items = tables["order_items"]
    olist_customers = tables["customers"]
    products = tables["products"]

    purchase_ts = _iso(orders["order_purchase_timestamp"])
    per_order = pd.DataFrame(
        {
            "order_id": orders["order_id"],
            "olist_customer_id": orders["customer_id"],
            "order_ts": purchase_ts,
            "status": orders["order_status"],
            "business_date": purchase_ts.str[:10],
        }
    ).merge(olist_customers, how="left", left_on="olist_customer_id", right_on="customer_id", suffixes=("", "_c"))
    # An order whose customer row is missing keeps Olist's per-order id, so silver quarantines it visibly.
    per_order["customer_id"] = per_order["customer_unique_id"].where(
        per_order["customer_unique_id"].fillna("") != "", per_order["olist_customer_id"]
    )

    freight = pd.to_numeric(items["freight_value"], errors="coerce")
    shipping = freight.groupby(items["order_id"]).sum().rename("shipping_cost").reset_index()
    landed_orders = per_order.merge(shipping, how="left", on="order_id")
    landed_orders["shipping_cost"] = landed_orders["shipping_cost"].fillna(0).round(2).map(repr)
    landed_orders["currency"] = CURRENCY
    landed_orders["payment_method"] = _payment_methods(tables.get("order_payments"), landed_orders["order_id"])
    landed_orders = landed_orders[
        [
            "business_date",
            "order_id",
            "customer_id",
            "order_ts",
            "status",
            "payment_method",
            "currency",
            "shipping_cost",
        ]
    ]

    day_of_order = per_order.set_index("order_id")["business_date"]
    order_items = pd.DataFrame(
        {
            "business_date": items["order_id"].map(day_of_order),
            "order_id": items["order_id"],
            "line_number": items["order_item_id"],
            "product_id": items["product_id"],
            "quantity": "1",
            "unit_price": items["price"],
        }
    )
    # Lines of orders missing from orders.csv have no day; they land on their shipping-limit day and
    # silver quarantines them as lines without an order.
    orphan = order_items["business_date"].isna()
    order_items.loc[orphan, "business_date"] = items.loc[orphan, "shipping_limit_date"].str[:10]

    customers = per_order[per_order["customer_unique_id"].fillna("") != ""]
    customers = pd.DataFrame(
        {
            "business_date": customers["business_date"],
            "customer_id": customers["customer_unique_id"],
            "city": customers["customer_city"],
            "state": customers["customer_state"],
            "country": "BR",
            "postal_code": customers["customer_zip_code_prefix"].str.strip().str.zfill(5),
            "updated_at": customers["order_ts"],
        }
    )
    # One record per customer and day: the one of the day's last order.
    customers = customers.sort_values(["business_date", "customer_id", "updated_at"])
    customers = customers.drop_duplicates(["business_date", "customer_id"], keep="last")

    translation = tables.get("product_category_name_translation")
    english = (
        dict(zip(translation["product_category_name"], translation["product_category_name_english"], strict=True))
        if translation is not None
        else {}
    )
    catalog = pd.DataFrame(
        {"product_id": products["product_id"], "category": products["product_category_name"].map(english_or(english))}
    )
    sold_on = order_items[["business_date", "product_id"]].drop_duplicates()
    landed_products = sold_on.merge(catalog, how="left", on="product_id")
    landed_products["category"] = landed_products["category"].fillna("")

    return OlistLanding(
        customers=customers.reset_index(drop=True),
        products=landed_products.sort_values(["business_date", "product_id"]).reset_index(drop=True),
        orders=landed_orders.sort_values(["business_date", "order_id"]).reset_index(drop=True),
        order_items=order_items.sort_values(["business_date", "order_id", "line_number"]).reset_index(drop=True),
    )


def english_or(translation: dict[str, str]):
    """The English category where a translation exists, else the Portuguese name (blank stays blank)."""
    return lambda name: translation.get(name, name)


def _payment_methods(payments: pd.DataFrame | None, order_ids: pd.Series) -> pd.Series:
    if payments is None:
        return pd.Series([""] * len(order_ids), index=order_ids.index)
    first = payments.sort_values(["order_id", "payment_sequential"]).drop_duplicates("order_id")
    return order_ids.map(first.set_index("order_id")["payment_type"]).fillna("")


def write_landing(landing: OlistLanding, root: str | Path) -> dict[str, int]:
    """Write ``<root>/<entity>/<day>/olist.csv`` for every entity and day; returns rows written per entity."""
    root = Path(root)
    written = {}
    for entity, frame in landing.frames().items():
        for day, rows in frame.groupby("business_date", sort=True):
            folder = root / entity / str(day)
            folder.mkdir(parents=True, exist_ok=True)
            rows.drop(columns="business_date").to_csv(folder / LANDING_FILE_NAME, index=False)
        written[entity] = len(frame)
    return written


def import_olist(source: str | Path, landing_root: str | Path) -> dict[str, int]:
    return write_landing(convert_olist(read_olist(source)), landing_root)
