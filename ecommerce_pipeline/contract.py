"""The landing contract: every entity's columns, types, required flags and rules, declared once.

Bronze validation, the synthetic generator, the pandera schemas, the catalog column types and the
README's contract table are all derived from ``ENTITIES``; nothing here is typed out twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["string", "integer", "number", "money", "boolean", "date", "timestamp"]
Rule = Literal["positive", "non_negative", "one_of", "past_date", "plausible_timestamp", "valid_email", "valid_phone"]
# What an invalid value of a column costs: the whole record ("reject", bronze or silver quarantine), or only
# the value ("null": set to null, recorded in quarantine.field_issues, the record and what refers to it stay).
OnInvalid = Literal["reject", "null"]

# Money is exact: decimal(18, 2), cents, never a float. A value with more than two decimal places is
# rejected (``money_precision``), never rounded: the pipeline does not invent cents.
MONEY_PRECISION, MONEY_SCALE = 18, 2

# Plausibility bounds (inclusive maxima). A value above one is quarantined in bronze (``upper_bound``):
# it is a broken export, and it could overflow a sum in gold (9e18 items fail every gold table). A day of
# a million lines at the bounds sums to at most 1e6 x 1e6 x 1e9 = 1e21, inside decimal(38, 2).
MAX_QUANTITY = 1_000_000
MAX_LINE_NUMBER = 100_000
MAX_MONEY = 1_000_000_000

# Identifier columns are text exactly as written, trimmed of every Unicode whitespace character (White_Space:
# space, tab, line breaks, NBSP, the en/em/thin spaces, ideographic space, ...). The one rewrite: a whole
# number written with a zero fraction (``9001.0``, ``9001.00``, as spreadsheets and pandas write integer ids)
# is the id ``9001``. Nothing else is normalised: ``009001`` and ``9001`` stay two ids, case is kept.
IDENTIFIER_RULE = (
    "text as written, trimmed of every Unicode whitespace character; a whole number with a zero fraction "
    "(9001.0) is 9001"
)

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
    "money": f"decimal128({MONEY_PRECISION}, {MONEY_SCALE})",
    "boolean": "bool",
    "date": "date32",
    "timestamp": "timestamp[us, tz=UTC]",
}

SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "money": f"DECIMAL({MONEY_PRECISION},{MONEY_SCALE})",
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
    identifier: bool = False  # an id: see IDENTIFIER_RULE
    maximum: int | None = None  # plausibility bound, inclusive (rule ``upper_bound``)
    on_invalid: OnInvalid = "reject"


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
    def nullable_when_invalid(self) -> list[Column]:
        """Optional columns whose invalid values are nulled and recorded rather than rejecting the record."""
        return [c for c in self.columns if c.on_invalid == "null"]

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
        Column("customer_id", required=True, identifier=True, description="Store's customer identifier."),
        Column(
            "email",
            rules=("valid_email",),
            pii=True,
            on_invalid="null",
            description="Trimmed and lower-cased in silver; an invalid address (syntax, no DNS) is set to null.",
        ),
        Column("first_name", pii=True),
        Column("last_name", pii=True),
        Column(
            "phone",
            rules=("valid_phone",),
            pii=True,
            on_invalid="null",
            description="Normalised to E.164 in silver (national numbers in ECOM_DEFAULT_PHONE_COUNTRY); "
            "a number that is not a possible one is set to null.",
        ),
        Column("date_of_birth", "date", rules=("past_date",), pii=True, on_invalid="null"),
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
        Column("product_id", required=True, identifier=True),
        Column("product_name", silver_default="product id"),
        Column("category", silver_default="uncategorized"),
        Column("subcategory", silver_default="uncategorized"),
        Column("brand", silver_default="unknown"),
        Column("base_price", "money", rules=("positive",), maximum=MAX_MONEY),
        Column("current_price", "money", rules=("positive",), maximum=MAX_MONEY, silver_default="base_price"),
        Column("cost", "money", rules=("non_negative",), maximum=MAX_MONEY),
        Column("is_active", "boolean", silver_default="true"),
        Column("updated_at", "timestamp", rules=("plausible_timestamp",), silver_default="ingestion time"),
    ),
)

ORDERS = Entity(
    name="orders",
    key=("order_id",),
    description="Orders placed or changed (a new status, a refund): each row is a version of its order.",
    columns=(
        Column("order_id", required=True, identifier=True),
        Column("customer_id", required=True, identifier=True),
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
        Column("shipping_cost", "money", rules=("non_negative",), maximum=MAX_MONEY, silver_default="0"),
        Column("tax", "money", rules=("non_negative",), maximum=MAX_MONEY, silver_default="0"),
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
        Column("order_id", required=True, identifier=True),
        Column("line_number", "integer", required=True, rules=("positive",), maximum=MAX_LINE_NUMBER),
        Column("product_id", required=True, identifier=True),
        Column("quantity", "integer", required=True, rules=("positive",), maximum=MAX_QUANTITY),
        Column("unit_price", "money", required=True, rules=("positive",), maximum=MAX_MONEY),
        Column("discount", "money", rules=("non_negative",), maximum=MAX_MONEY, silver_default="0"),
    ),
)

EVENTS = Entity(
    name="events",
    key=("event_id",),
    description="Click-stream events of the day.",
    columns=(
        Column("event_id", required=True, identifier=True),
        Column("session_id", required=True, identifier=True),
        Column("event_type", required=True, rules=("one_of",), allowed=EVENT_TYPES),
        Column("event_ts", "timestamp", required=True, rules=("plausible_timestamp",)),
        Column("customer_id", identifier=True),
        Column("product_id", identifier=True),
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
    "duplicate_column": "the header names a column twice (compared case-insensitively): every row of the file is rejected",
    "type": "the value cannot be read as the column's type (numbers are plain digits with a '.' decimal point: "
    "no currency symbols, thousands separators or '_')",
    "money_precision": "a money value has more than two decimal places (rejected, never rounded)",
    "upper_bound": "the value is above the column's plausibility bound",
    "positive": "the value must be greater than zero",
    "non_negative": "the value must not be negative",
    "one_of": "the value is not one of the allowed values",
    "past_date": "the date is in the future or before 1900",
    "plausible_timestamp": "the timestamp is before 2000 or more than a day after the batch's day",
    "invalid_email": "field issue: the e-mail address is not valid (syntax, checked by email-validator); set to null",
    "invalid_phone": "field issue: the phone number is not a possible number (phonenumbers); set to null",
    "unknown_customer": "the order's customer is not in customers_clean as of the day",
    "unknown_product": "the line's product is not in products_clean as of the day",
    "order_without_lines": "the order has no order lines in the day's batch",
    "line_without_order": "the line's order is not in the day's orders",
    "discount_exceeds_amount": "the line's discount is larger than quantity x unit price",
    "conflicting_order": "the order id arrived for two or more customers in the same landing day: every version of "
    "it that day is held back (both kept in quarantine), the order keeps its earlier state",
    "order_has_invalid_line": "another line of the same order failed a rule, so the whole order is held back",
    "order_rejected": "the line's order failed a rule, so its lines are held back",
}


def _rules_text(col: Column) -> str:
    rules = [f"one of {', '.join(col.allowed)}" if r == "one_of" else r.replace("_", " ") for r in col.rules]
    if col.maximum is not None:
        rules.append(f"at most {col.maximum:,}")
    if col.identifier:
        rules.append("id")
    return ", ".join(rules)


def landing_contract_markdown() -> str:
    """The README's contract table, generated so it cannot drift from the code."""
    lines = [
        "| entity | column | type | required | rules | if invalid | silver default | personal data | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entity in ENTITIES.values():
        for col in entity.columns:
            invalid = "value set to null, recorded" if col.on_invalid == "null" else "record rejected"
            type_name = f"money (decimal({MONEY_PRECISION},{MONEY_SCALE}))" if col.type == "money" else col.type
            lines.append(
                f"| {entity.name} | {col.name} | {type_name} | {'yes' if col.required else ''} | {_rules_text(col)} "
                f"| {invalid} | {col.silver_default or ''} | {'yes' if col.pii else ''} | {col.description} |"
            )
    return "\n".join(lines)
