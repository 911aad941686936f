from decimal import Decimal

import pyarrow as pa
import pytest

from ecommerce_pipeline.quality.schemas import SCHEMAS, check_schema
from ecommerce_pipeline.transforms.conversion_funnel import conversion_funnel
from ecommerce_pipeline.transforms.customer_lifetime_value import HISTORY_SCHEMA, customer_lifetime_value
from ecommerce_pipeline.transforms.daily_sales_summary import daily_sales_summary
from ecommerce_pipeline.transforms.events import counted
from ecommerce_pipeline.transforms.product_performance import INPUT_SCHEMAS, product_performance

from .conftest import DAY


@pytest.fixture(scope="module")
def tables(silver_tables):
    orders, events = silver_tables["orders_validated"], counted(silver_tables["events_clean"])
    products = silver_tables["products_clean"]
    return {
        "customers_clean": silver_tables["customers_clean"],
        "products_clean": products,
        "orders_validated": orders,
        "events_clean": events,  # the counted events, as the asset checks them
        "daily_sales_summary": daily_sales_summary(orders),
        "customer_lifetime_value": customer_lifetime_value(orders.select(HISTORY_SCHEMA.names), DAY),
        "product_performance": product_performance(
            orders.select(INPUT_SCHEMAS["orders_validated"].names),
            events.select(INPUT_SCHEMAS["events_clean"].names),
            products.select(INPUT_SCHEMAS["products_clean"].names),
        ),
        "conversion_funnel": conversion_funnel(events),
    }


def test_every_silver_and_gold_table_has_a_schema(tables):
    assert set(SCHEMAS) == set(tables)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schemas_pass_on_clean_tables(tables, name):
    outcome = check_schema(name, tables[name])
    assert outcome.passed, outcome.failures
    assert outcome.rows_checked == tables[name].num_rows > 0


def replace(table: pa.Table, column: str, values: list) -> pa.Table:
    i = table.column_names.index(column)
    return table.set_column(i, column, pa.array(values, table.schema.field(column).type))


def test_invalid_email_fails_with_count_and_sample(tables):
    customers = tables["customers_clean"]
    bad = replace(customers, "email", ["broken"] + customers.column("email").to_pylist()[1:])
    outcome = check_schema("customers_clean", bad)
    assert not outcome.passed and outcome.failing_rows == 1
    assert outcome.sample is not None and len(outcome.sample) == 1
    assert any("email" in f for f in outcome.failures)


def test_duplicate_keys_fail(tables):
    orders = tables["orders_validated"]
    outcome = check_schema("orders_validated", pa.concat_tables([orders, orders.slice(0, 1)]))
    assert not outcome.passed and outcome.failing_rows == 2


def test_negative_revenue_and_out_of_range_scores_fail(tables):
    sales = tables["daily_sales_summary"]
    assert not check_schema(
        "daily_sales_summary", replace(sales, "total_revenue", [Decimal("-1.00")] * sales.num_rows)
    ).passed
    clv = tables["customer_lifetime_value"]
    outcome = check_schema("customer_lifetime_value", replace(clv, "r_score", [7] * clv.num_rows))
    assert not outcome.passed and outcome.failing_rows == clv.num_rows


def test_a_widening_funnel_fails(tables):
    funnel = tables["conversion_funnel"]
    widened = replace(funnel, "purchase_sessions", [100] * funnel.num_rows)
    outcome = check_schema("conversion_funnel", widened)
    assert not outcome.passed
    assert outcome.failing_rows == funnel.num_rows


def test_missing_column_fails_every_row(tables):
    products = tables["products_clean"].drop(["category"])
    outcome = check_schema("products_clean", products)
    assert not outcome.passed and outcome.failing_rows == products.num_rows


def test_money_as_a_float_fails(tables):
    orders = tables["orders_validated"]
    floats = orders.set_column(
        orders.column_names.index("line_revenue"), "line_revenue", orders.column("line_revenue").cast(pa.float64())
    )
    outcome = check_schema("orders_validated", floats)
    assert not outcome.passed and outcome.failing_rows == orders.num_rows


def test_money_with_three_places_fails_and_two_places_passes(tables):
    """The money check is decided by the Arrow type for decimals of at most two places; any other type is still
    checked value by value."""
    orders = tables["orders_validated"]
    i = orders.column_names.index("line_revenue")
    three = orders.set_column(i, "line_revenue", orders.column("line_revenue").cast(pa.decimal128(19, 3)))
    outcome = check_schema("orders_validated", three)
    assert not outcome.passed and outcome.failing_rows == orders.num_rows
    assert any("not a decimal with two places" in f for f in outcome.failures)
    one = orders.set_column(i, "line_revenue", orders.column("line_revenue").cast(pa.decimal128(18, 1), safe=False))
    assert check_schema("orders_validated", one).passed


def test_money_compared_with_zero_fails_exactly_the_rows_on_the_wrong_side(tables):
    """Decimal money whose checks only compare with zero is checked as floats (a Decimal object per value was
    slow): a cent on either side of zero, zero itself, the largest amount and a missing amount get the verdicts
    of their decimals, row by row."""
    orders = tables["orders_validated"]
    assert orders.num_rows >= 5

    def changed(column, values):
        rest = orders.column(column).to_pylist()[len(values) :]
        return replace(orders, column, values + rest)

    largest = Decimal("9999999999999999.99")
    cases = [
        ("discount", [Decimal("-0.01"), Decimal("0.00"), largest], [0]),  # at least zero
        ("unit_price", [Decimal("0.01"), Decimal("0.00"), largest, Decimal("-0.01")], [1, 3]),  # above zero
        ("tax", [None, Decimal("0.01")], [0]),  # required
    ]
    for column, values, failing in cases:
        outcome = check_schema("orders_validated", changed(column, values))
        assert not outcome.passed and outcome.failing_positions == failing, column
        assert all(f.startswith(column) for f in outcome.failures), outcome.failures
    assert check_schema("orders_validated", changed("discount", [Decimal("0.00"), largest])).passed


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_missing_value_gets_the_verdict_pandera_gives_over_the_whole_frame(tables, name):
    """Columns whose only rule is "no missing value" are checked on Arrow's nulls, not in pandas: a missing
    value in each column of the schema in turn fails the rows and names the rules that pandera itself finds
    when it validates every column of the frame."""
    import pandera.pandas as pandera

    table = tables[name]
    schema = SCHEMAS[name]
    columns = [c for c in schema.columns if c in table.column_names]
    for i, column in enumerate(columns):
        values = table.column(column).to_pylist()
        values[i % len(values)] = None
        broken = replace(table, column, values)
        try:
            schema.validate(broken.select(columns).to_pandas(), lazy=True)
            expected_rows, expected = [], []
        except pandera.errors.SchemaErrors as err:
            cases = err.failure_cases
            expected_rows = sorted(set(cases["index"].dropna().astype("int64").tolist()))
            expected = list(dict.fromkeys(cases["column"].fillna("table").astype(str) + ": " + cases["check"]))
        outcome = check_schema(name, broken)
        assert outcome.failing_positions == expected_rows, column
        assert sorted(outcome.failures) == sorted(expected), column  # the same rules, listed in another order
    assert check_schema(name, table).passed


def test_a_customer_version_is_unique_by_its_source_row_not_by_customer(tables):
    customers = tables["customers_clean"]
    second_version = customers.slice(0, 1)
    moved = second_version.set_column(
        second_version.column_names.index("_source_row"), "_source_row", pa.array([99], pa.int64())
    )
    assert check_schema("customers_clean", pa.concat_tables([customers, moved])).passed
    assert not check_schema("customers_clean", pa.concat_tables([customers, second_version])).passed


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_table_without_rows_is_checked_on_its_columns_and_types(tables, name):
    """A day without a table's rows is checked on the columns and their types alone (the outcome is worked out
    once per schema): the right ones pass, a missing column or a wrong type fails, at every call."""
    empty = tables[name].schema.empty_table()
    columns = SCHEMAS[name].columns
    broken = [empty.drop_columns([next(iter(columns))])]
    typed = [c for c, column in columns.items() if column.dtype is not None]
    if typed:
        i = empty.column_names.index(typed[0])
        broken.append(empty.set_column(i, typed[0], pa.array([], pa.string())))
    for _ in range(2):
        outcome = check_schema(name, empty)
        assert outcome.passed and outcome.rows_checked == 0, outcome.failures
        for table in broken:
            outcome = check_schema(name, table)
            assert not outcome.passed and outcome.failures and outcome.failing_rows == 0
