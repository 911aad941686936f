"""pandera schemas for every silver and gold table, and a runner that reports failing rows.

Column types and rules of silver tables come from the contract; the extra columns they derive and the
gold tables are declared here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow

from ecommerce_pipeline.contract import ENTITIES, EVENT_TYPES, FUNNEL_STAGES, Column
from ecommerce_pipeline.transforms.customer_lifetime_value import RFM_SEGMENTS
from ecommerce_pipeline.transforms.field_quality import emails_are_valid, phones_are_e164
from ecommerce_pipeline.transforms.sql import query

# Money (decimal) reaches pandas as Decimal objects: no numpy dtype, the checks compare the values.
PANDAS_DTYPES = {"integer": "int64", "number": "float64", "boolean": "bool"}
MONEY_COLUMNS = ("unit_price", "discount", "shipping_cost", "tax", "base_price", "current_price", "cost")
SAMPLE_ROWS = 5


def _from_contract(col: Column, *, nullable: bool | None = None) -> pa.Column:
    checks = []
    for rule in col.rules:
        if rule == "positive":
            checks.append(pa.Check.gt(0))
        elif rule == "non_negative":
            checks.append(pa.Check.ge(0))
        elif rule == "one_of":
            checks.append(pa.Check.isin(list(col.allowed)))
    return pa.Column(
        PANDAS_DTYPES.get(col.type) if col.required else None,
        checks=checks,
        nullable=(not col.required) if nullable is None else nullable,
    )


def _contract_columns(entity: str, *names: str, **overrides: pa.Column) -> dict[str, pa.Column]:
    e = ENTITIES[entity]
    cols = {n: _from_contract(e.column(n)) for n in (names or e.column_names)}
    cols.update(overrides)
    return cols


def _required(dtype: str | None = None, *checks: pa.Check) -> pa.Column:
    return pa.Column(dtype, checks=list(checks), nullable=False)


_CENT = Decimal("0.01")


def _is_money(values: pd.Series) -> pd.Series:
    """Money is exact: Python decimals with at most two places (Arrow decimal128(18, 2)), never floats."""
    # A list comprehension asking Decimal's own C methods (two places exactly is the common case), not a
    # lambda per value: checking the months of lines a restatement rewrites took seconds.
    ok = [
        v is None or (isinstance(v, Decimal) and (v.same_quantum(_CENT) or v.as_tuple().exponent >= -2)) for v in values
    ]
    return pd.Series(ok, index=values.index, dtype=bool)


MONEY_CHECK = "not a decimal with two places"


def _money(*checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(None, checks=[pa.Check(_is_money, error=MONEY_CHECK), *checks], nullable=nullable)


def _decided_by_type(schema: pa.DataFrameSchema, table: pa_arrow.Table) -> pa.DataFrameSchema:
    """The schema without the money check of the columns whose Arrow type already decides it: every value of a
    decimal column with at most two places reaches pandas as a Decimal with at most two places, so the check
    would pass each row. Checking value by value cost a second per 140,000 order lines."""
    decided = {
        name: {"checks": [c for c in column.checks if c.error != MONEY_CHECK]}
        for name, column in schema.columns.items()
        if name in table.column_names
        and pa_arrow.types.is_decimal(t := table.schema.field(name).type)
        and t.scale <= 2
        and any(c.error == MONEY_CHECK for c in column.checks)
    }
    return schema.update_columns(decided) if decided else schema


# Checks that compare with zero. A decimal(18, 2) and its float64 have the same sign (the smallest magnitude is
# 0.01, the largest 1e16), so these give the same verdict on either, and a null stays missing.
_COMPARISONS = {"greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to"}


def _as_floats_where_exact(table: pa_arrow.Table, schema: pa.DataFrameSchema) -> pa_arrow.Table:
    """Decimal columns whose remaining checks only compare with zero, as float64: pandas would make a Python
    Decimal of every value and compare them one at a time (3.3 s to convert 885,249 order lines)."""
    for i, f in enumerate(table.schema):
        column = schema.columns.get(f.name)
        if (
            column is not None
            and pa_arrow.types.is_decimal(f.type)
            and f.type.precision <= 18
            and column.dtype is None
            and all(c.name in _COMPARISONS and set(c.statistics.values()) == {0} for c in column.checks)
        ):
            table = table.set_column(i, f.name, table.column(i).cast(pa_arrow.float64()))
    return table


def _nulls_only(schema: pa.DataFrameSchema, table: pa_arrow.Table) -> tuple[pa.DataFrameSchema, dict[str, list[int]]]:
    """The schema without the columns of ``table`` whose only rule is "no missing value" (no type, check or
    uniqueness, and no rule over the whole frame), and the rows each of them fails, found by Arrow's null
    count: pandas would make a Python string of every event and session id only to see that none is missing
    (2.2 s and 590 MiB for 4.5 million events). Floats stay with pandas, which takes NaN for missing too."""
    if schema.checks:
        return schema, {}
    plain = [
        name
        for name, column in schema.columns.items()
        if name in table.column_names
        and column.dtype is None
        and not column.checks
        and not column.unique
        and not column.coerce
        and not pa_arrow.types.is_floating(table.schema.field(name).type)
    ]
    failing = {
        name: np.flatnonzero(table.column(name).is_null().to_numpy(zero_copy_only=False)).tolist()
        for name in plain
        if not schema.columns[name].nullable and table.column(name).null_count
    }
    return (schema.remove_columns(plain) if plain else schema), failing


def _rate() -> pa.Column:
    return pa.Column("float64", checks=[pa.Check.in_range(0, 1)], nullable=True)


def _funnel_never_widens(df: pd.DataFrame) -> pd.Series:
    ok = pd.Series(True, index=df.index)
    for wider, narrower in zip(FUNNEL_STAGES, FUNNEL_STAGES[1:]):
        ok &= df[f"{narrower}_sessions"] <= df[f"{wider}_sessions"]
    return ok


_VERSION_COLUMNS = {
    "valid_from": _required(),
    "landing_date": _required(),
    "is_current": _required("bool"),
}

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "customers_clean": pa.DataFrameSchema(
        {
            **_contract_columns("customers", *[c for c in ENTITIES["customers"].column_names if c != "updated_at"]),
            # Judged by the libraries themselves (email-validator, phonenumbers), not by the cleaning code's output.
            "email": pa.Column(checks=pa.Check(lambda s: pd.Series(emails_are_valid(s), index=s.index)), nullable=True),
            "phone": pa.Column(checks=pa.Check(lambda s: pd.Series(phones_are_e164(s), index=s.index)), nullable=True),
            "signup_date": _required(),
            "is_active": _required("bool"),
            "region": _required(),
            **_VERSION_COLUMNS,
        },
    ),
    "products_clean": pa.DataFrameSchema(
        {
            **_contract_columns(
                "products",
                *[c for c in ENTITIES["products"].column_names if c not in MONEY_COLUMNS and c != "updated_at"],
            ),
            "base_price": _money(pa.Check.gt(0), nullable=True),
            "current_price": _money(pa.Check.gt(0), nullable=True),
            "cost": _money(pa.Check.ge(0), nullable=True),
            "category": _required(),
            "is_active": _required("bool"),
            **_VERSION_COLUMNS,
        },
    ),
    "orders_validated": pa.DataFrameSchema(
        {
            **_contract_columns("order_items", "order_id", "line_number", "product_id", "quantity"),
            **_contract_columns("orders", "customer_id", "order_ts", "status"),
            "unit_price": _money(pa.Check.gt(0)),
            "discount": _money(pa.Check.ge(0)),
            "line_amount": _money(pa.Check.ge(0)),
            "line_revenue": _money(pa.Check.ge(0)),
            "is_revenue": _required("bool"),
            "order_date": _required(),
            "order_month": _required("int32", pa.Check.in_range(1, 12)),
            "shipping_cost": _money(pa.Check.ge(0)),
            "tax": _money(pa.Check.ge(0)),
            "currency": _required(),
            "product_category": _required(),
            "customer_region": _required(),
        },
    ),
    "events_clean": pa.DataFrameSchema(
        {
            **_contract_columns("events", "event_id", "session_id", "event_ts"),
            "event_type": _required(None, pa.Check.isin(list(EVENT_TYPES))),
            "event_seq": _required(None, pa.Check.ge(1)),
            "device_type": _required(),
        },
    ),
    "daily_sales_summary": pa.DataFrameSchema(
        {
            "order_date": _required(),
            "product_category": _required(),
            "region": _required(),
            "currency": _required(),
            "total_orders": _required("int64", pa.Check.gt(0)),
            "total_revenue": _money(pa.Check.ge(0)),
            "avg_order_value": _money(pa.Check.ge(0)),
            "unique_customers": _required("int64", pa.Check.gt(0)),
            "units_sold": _required(None, pa.Check.gt(0)),
        },
        checks=pa.Check(lambda df: df["unique_customers"] <= df["total_orders"], error="more customers than orders"),
    ),
    "customer_lifetime_value": pa.DataFrameSchema(
        {
            "customer_id": _required(),
            "currency": _required(),
            "total_orders": _required("int64", pa.Check.ge(1)),
            "total_spent": _money(pa.Check.ge(0)),
            "avg_order_value": _money(pa.Check.ge(0)),
            "first_order_date": _required(),
            "last_order_date": _required(),
            "days_since_first_order": _required("int32", pa.Check.ge(0)),
            "days_since_last_order": _required("int32", pa.Check.ge(0)),
            "r_score": _required("int32", pa.Check.in_range(1, 5)),
            "f_score": _required("int32", pa.Check.in_range(1, 5)),
            "m_score": _required("int32", pa.Check.in_range(1, 5)),
            "rfm_segment": _required(None, pa.Check.isin(list(RFM_SEGMENTS))),
        },
        checks=pa.Check(lambda df: df["first_order_date"] <= df["last_order_date"], error="first order after last"),
    ),
    "product_performance": pa.DataFrameSchema(
        {
            "product_id": _required(),
            "category": _required(),
            "currency": _required(),
            "orders": _required("int64", pa.Check.ge(0)),
            "units": _required("int64", pa.Check.ge(0)),
            "revenue": _money(pa.Check.ge(0)),
            "revenue_rank_in_category": _required("int32", pa.Check.ge(1)),
            "product_views": _required("int64", pa.Check.ge(0)),
            "add_to_carts": _required("int64", pa.Check.ge(0)),
            "view_to_purchase_rate": pa.Column("float64", pa.Check.ge(0), nullable=True),
        },
    ),
    "conversion_funnel": pa.DataFrameSchema(
        {
            "device_type": _required(),
            "sessions": _required("int64", pa.Check.ge(0)),
            **{f"{s}_sessions": _required("int64", pa.Check.ge(0)) for s in FUNNEL_STAGES},
            **{f"{a}_to_{b}_rate": _rate() for a, b in zip(FUNNEL_STAGES, FUNNEL_STAGES[1:])},
            "overall_conversion_rate": _rate(),
        },
        checks=pa.Check(_funnel_never_widens, error="a later funnel stage has more sessions than an earlier one"),
    ),
}


UNIQUE_KEYS: dict[str, list[str]] = {
    "customers_clean": ["customer_id", "landing_date", "_source_file", "_source_row"],
    "products_clean": ["product_id", "landing_date", "_source_file", "_source_row"],
    "orders_validated": ["business_date", "order_id", "line_number"],
    "events_clean": ["business_date", "event_id"],
    "daily_sales_summary": ["business_date", "product_category", "region", "currency"],
    "customer_lifetime_value": ["customer_id", "currency"],
    "product_performance": ["business_date", "product_id", "currency"],
    "conversion_funnel": ["business_date", "device_type"],
}


def checked_columns(table_name: str) -> list[str]:
    """The columns ``check_schema`` reads: the table's unique key, then the schema's columns."""
    key = UNIQUE_KEYS[table_name]
    return [*key, *(c for c in SCHEMAS[table_name].columns if c not in key)]


@dataclass
class SchemaOutcome:
    passed: bool
    rows_checked: int
    failing_rows: int
    failures: list[str] = field(default_factory=list)
    sample: pa_arrow.Table | None = None  # the first failing rows, as stored
    # Positions of the failing rows in the table checked (every row when the table itself fails).
    failing_positions: list[int] = field(default_factory=list)


def duplicate_key_rows(table: pa_arrow.Table, keys: list[str]) -> np.ndarray:
    """Positions of rows whose key appears more than once (a hash aggregate, not a sort)."""
    if not set(keys) <= set(table.column_names) or table.num_rows < 2:
        return np.array([], dtype=np.int64)
    narrow = table.select(keys).append_column("_pos", pa_arrow.array(np.arange(table.num_rows, dtype=np.int64)))
    cols = ", ".join(f'"{k}"' for k in keys)
    positions = query(
        f"SELECT _pos FROM narrow SEMI JOIN (SELECT {cols} FROM narrow GROUP BY ALL HAVING count(*) > 1) USING ({cols})"
        " ORDER BY _pos",
        narrow=narrow,
    )
    return positions.column("_pos").to_numpy()


def check_schema(table_name: str, table: pa_arrow.Table) -> SchemaOutcome:
    """Validate ``table`` against its pandera schema and its unique key, counting failing rows and
    keeping a sample of them.

    pandera checks every column rule; the unique key is checked with a DuckDB hash aggregate, which
    is an order of magnitude faster than pandas on millions of string keys.
    """
    if table.num_rows == 0:
        # Without rows only the columns and their types can fail: the outcome is the schema's, worked out once
        # per process (a backfill over days without a table's files checks the same empty table every day).
        return replace(_check_columns(table_name, table.schema))
    return _check_rows(table_name, table)


@lru_cache(maxsize=64)
def _check_columns(table_name: str, columns: pa_arrow.Schema) -> SchemaOutcome:
    return _check_rows(table_name, columns.empty_table())


def _check_rows(table_name: str, table: pa_arrow.Table) -> SchemaOutcome:
    schema, missing = _nulls_only(_decided_by_type(SCHEMAS[table_name], table), table)
    # Only the columns the schema looks at are converted: the click stream has wide URL columns.
    df = _as_floats_where_exact(
        table.select([c for c in table.column_names if c in schema.columns]), schema
    ).to_pandas()
    if len(df) != table.num_rows:  # no column left for pandas: the frame still has the table's rows
        df = pd.DataFrame(index=pd.RangeIndex(table.num_rows))
    failing_rows, messages, everything_fails = set(), [], False
    try:
        schema.validate(df, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        failing_rows.update(cases["index"].dropna().astype("int64").unique().tolist())
        messages = (
            cases.assign(what=cases["column"].fillna("table").astype(str) + ": " + cases["check"].astype(str))["what"]
            .drop_duplicates()
            .head(20)
            .tolist()
        )
        # A column- or table-level failure (wrong type, missing column) fails every row.
        everything_fails = cases["index"].isna().any() and not failing_rows
    for name, rows in missing.items():
        failing_rows.update(rows)
        messages.append(f"{name}: not_nullable")
    duplicates = duplicate_key_rows(table, UNIQUE_KEYS[table_name])
    if len(duplicates):
        failing_rows.update(duplicates.tolist())
        messages.append(f"table: {', '.join(UNIQUE_KEYS[table_name])} is not unique ({len(duplicates)} rows)")
    if not messages:
        return SchemaOutcome(True, len(df), 0)
    rows = sorted(failing_rows)
    sample = table.take(rows[:SAMPLE_ROWS]) if rows else None
    positions = list(range(len(df))) if everything_fails else rows
    return SchemaOutcome(False, len(df), len(positions), messages, sample, positions)


def combined_schema(outcomes: list[SchemaOutcome]) -> SchemaOutcome:
    """One outcome for several commits checked one at a time (a long backfill never checks its year at once)."""
    failures = list(dict.fromkeys(f for o in outcomes for f in o.failures))[:20]
    return SchemaOutcome(
        passed=all(o.passed for o in outcomes),
        rows_checked=sum(o.rows_checked for o in outcomes),
        failing_rows=sum(o.failing_rows for o in outcomes),
        failures=failures,
        sample=next((o.sample for o in outcomes if o.sample is not None), None),
    )
