"""The landing contract: every entity's columns, types, required flags and rules, declared once.

Bronze validation, the synthetic generator, the pandera schemas, the catalog column types and the
README's contract table are all derived from ``ENTITIES``; nothing here is typed out twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["string", "integer", "number", "boolean", "date", "timestamp"]
Rule = Literal["positive", "non_negative", "one_of", "past_date", "plausible_timestamp"]

EVENT_TYPES = (
    "page_view",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "checkout_start",
    "purchase",
)

FUNNEL_STAGES = ("page_view", "product_view", "add_to_cart", "checkout_start", "purchase")

ARROW_TYPES = {
    "string": "string",
    "integer": "int64",
    "number": "double",
    "boolean": "bool",
    "date": "date32",
    "timestamp": "timestamp[us, tz=UTC]",
}

SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "string"
    required: bool = False
    rules: tuple[Rule, ...] = ()
    allowed: tuple[str, ...] = ()
    pii: bool = False
    silver_default: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Entity:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str
    is_dimension: bool = False
    extra_rules: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


CUSTOMERS = Entity(
    name="customers",
    key=("customer_id",),
    is_dimension=True,
    description="New or changed customer records for the day; a customer may reappear later with changes.",
    columns=(
        Column("customer_id", required=True, description="Store's customer identifier."),
        Column("email", pii=True, description="Trimmed and lower-cased in silver; must be valid where present."),
        Column("first_name", pii=True),
        Column("last_name", pii=True),
        Column("phone", pii=True, description="Normalised to E.164 in silver."),
        Column("date_of_birth", "date", rules=("past_date",), pii=True),
        Column("gender", silver_default="unknown"),
        Column("city", silver_default="unknown"),
        Column("state", description="Region in gold is the state, or the country where no state."),
        Column("country", silver_default="unknown"),
        Column("postal_code", pii=True),
        Column("signup_date", "date", rules=("past_date",), silver_default="first day the customer was seen"),
        Column("customer_segment", silver_default="standard"),
        Column("is_active", "boolean", silver_default="true"),
        Column("updated_at", "timestamp", rules=("plausible_timestamp",), silver_default="ingestion time"),
    ),
)

PRODUCTS = Entity(
    name="products",
    key=("product_id",),
    is_dimension=True,
    description="New or changed product records for the day; a product may reappear later with changes.",
    columns=(
        Column("product_id", required=True),
        Column("product_name", silver_default="product id"),
        Column("category", silver_default="uncategorized"),
        Column("subcategory", silver_default="uncategorized"),
        Column("brand", silver_default="unknown"),
        Column("base_price", "number", rules=("positive",)),
        Column("current_price", "number", rules=("positive",), silver_default="base_price"),
        Column("cost", "number", rules=("non_negative",)),
        Column("is_active", "boolean", silver_default="true"),
        Column("updated_at", "timestamp", rules=("plausible_timestamp",), silver_default="ingestion time"),
    ),
)

ORDERS = Entity(
    name="orders",
    key=("order_id",),
    description="Orders placed or changed (a new status, a refund): each row is a version of its order.",
    columns=(
        Column("order_id", required=True),
        Column("customer_id", required=True),
        Column(
            "order_ts",
            "timestamp",
            required=True,
            rules=("plausible_timestamp",),
            description="ISO 8601; no offset means UTC.",
        ),
        Column("status", required=True, description="Lower-cased in silver."),
        Column("payment_method", silver_default="unknown"),
        Column("currency", silver_default="the configured default currency"),
        Column("shipping_cost", "number", rules=("non_negative",), silver_default="0"),
        Column("tax", "number", rules=("non_negative",), silver_default="0"),
        Column(
            "updated_at",
            "timestamp",
            rules=("plausible_timestamp",),
            silver_default="order_ts",
            description="When the order last changed; orders its versions (then landing day, file and row).",
        ),
    ),
)

ORDER_ITEMS = Entity(
    name="order_items",
    key=("order_id", "line_number"),
    description="Order lines of the day's orders.",
    columns=(
        Column("order_id", required=True),
        Column("line_number", "integer", required=True, rules=("positive",)),
        Column("product_id", required=True),
        Column("quantity", "integer", required=True, rules=("positive",)),
        Column("unit_price", "number", required=True, rules=("positive",)),
        Column("discount", "number", rules=("non_negative",), silver_default="0"),
    ),
)

EVENTS = Entity(
    name="events",
    key=("event_id",),
    description="Click-stream events of the day.",
    columns=(
        Column("event_id", required=True),
        Column("session_id", required=True),
        Column("event_type", required=True, rules=("one_of",), allowed=EVENT_TYPES),
        Column("event_ts", "timestamp", required=True, rules=("plausible_timestamp",)),
        Column("customer_id"),
        Column("product_id"),
        Column("page_url"),
        Column("referrer_url"),
        Column("device_type", silver_default="unknown"),
        Column("country", silver_default="unknown"),
    ),
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (CUSTOMERS, PRODUCTS, ORDERS, ORDER_ITEMS, EVENTS)}

LINEAGE_COLUMNS = ("_source_file", "_source_row", "_batch_id", "_ingested_at", "_extra_columns")

RULE_DESCRIPTIONS = {
    "unparseable_file": "the file could not be parsed at all; the parser's error is in the detail",
    "malformed_row": "the row has a different number of fields than the header, or is not a JSON object",
    "invalid_utf8": "the row holds bytes that are not valid UTF-8",
    "missing_required_column": "a required column is absent from the file's header",
    "required": "a required field is missing or empty",
    "type": "the value cannot be read as the column's type",
    "positive": "the value must be greater than zero",
    "non_negative": "the value must not be negative",
    "one_of": "the value is not one of the allowed values",
    "past_date": "the date is in the future or before 1900",
    "plausible_timestamp": "the timestamp is before 2000 or more than a day after the batch's day",
    "invalid_email": "the e-mail address is not valid",
    "invalid_phone": "the phone number cannot be normalised to E.164",
    "unknown_customer": "the order's customer is not in customers_clean as of the day",
    "unknown_product": "the line's product is not in products_clean as of the day",
    "order_without_lines": "the order has no order lines in the day's batch",
    "line_without_order": "the line's order is not in the day's orders",
    "discount_exceeds_amount": "the line's discount is larger than quantity x unit price",
    "order_has_invalid_line": "another line of the same order failed a rule, so the whole order is held back",
    "order_rejected": "the line's order failed a rule, so its lines are held back",
}


def landing_contract_markdown() -> str:
    """The README's contract table, generated so it cannot drift from the code."""
    lines = [
        "| entity | column | type | required | rules | silver default | personal data | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entity in ENTITIES.values():
        for col in entity.columns:
            rules = ", ".join(
                f"one of {', '.join(col.allowed)}" if r == "one_of" else r.replace("_", " ") for r in col.rules
            )
            lines.append(
                f"| {entity.name} | {col.name} | {col.type} | {'yes' if col.required else ''} | {rules} "
                f"| {col.silver_default or ''} | {'yes' if col.pii else ''} | {col.description} |"
            )
    return "\n".join(lines)
