"""Glue registration on moto: creation, additive schema changes, partitions, and refusing wrong locations."""

from datetime import date

import boto3
import pytest

from ecommerce_pipeline.catalog.athena import estimated_cost_usd
from ecommerce_pipeline.catalog.glue import GlueCatalog, LocationMismatchError, SchemaChangeError

LOCATION = "s3://ecom-gold/lake/daily_sales_summary/"
D1, D2 = date(2025, 1, 1), date(2025, 1, 2)


def part(day: date) -> str:
    return f"{LOCATION}year={day.year}/month={day.month:02d}/day={day.day:02d}/"


@pytest.fixture
def glue(aws_env) -> GlueCatalog:
    return GlueCatalog(aws_env["ECOM_GLUE_DATABASE"])


def partitions(glue: GlueCatalog) -> dict[tuple, list]:
    return {
        tuple(p["Values"]): [c["Name"] for c in p["StorageDescriptor"]["Columns"]]
        for p in glue.partitions("gold/daily_sales_summary")
    }


def test_a_new_table_gets_its_columns_partition_keys_and_partitions(glue):
    result = glue.register(
        "gold/daily_sales_summary", LOCATION, {"business_date": "date", "revenue": "double"}, {D1: part(D1)}
    )
    assert result.created and result.partitions_added == ["2025-01-01"]
    table = glue.table("gold/daily_sales_summary")
    assert table["Name"] == "gold_daily_sales_summary"
    assert [k["Name"] for k in table["PartitionKeys"]] == ["year", "month", "day"]
    assert all(k["Type"] == "string" for k in table["PartitionKeys"])
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert partitions(glue) == {("2025", "01", "01"): ["business_date", "revenue"]}


def test_an_added_column_is_appended_and_older_partitions_keep_a_matching_prefix(glue):
    glue.register("gold/daily_sales_summary", LOCATION, {"business_date": "date", "revenue": "double"}, {D1: part(D1)})
    # The new file lists the new column first: the table must still keep the old order.
    result = glue.register(
        "gold/daily_sales_summary",
        LOCATION,
        {"margin": "double", "business_date": "date", "revenue": "double"},
        {D2: part(D2)},
    )
    assert result.columns_added == ["margin"] and not result.created
    columns = [(c["Name"], c["Type"]) for c in glue.table("gold/daily_sales_summary")["StorageDescriptor"]["Columns"]]
    assert columns == [("business_date", "date"), ("revenue", "double"), ("margin", "double")]
    assert partitions(glue) == {
        ("2025", "01", "01"): ["business_date", "revenue"],
        ("2025", "01", "02"): ["business_date", "revenue", "margin"],
    }
    # Re-writing the old day with the new schema brings its partition in line with the table.
    again = glue.register(
        "gold/daily_sales_summary",
        LOCATION,
        {"business_date": "date", "revenue": "double", "margin": "double"},
        {D1: part(D1)},
    )
    assert again.partitions_updated == ["2025-01-01"] and again.partitions_added == []
    assert partitions(glue)[("2025", "01", "01")] == ["business_date", "revenue", "margin"]


def test_registering_again_changes_nothing(glue):
    args = ("gold/daily_sales_summary", LOCATION, {"business_date": "date"}, {D1: part(D1)})
    glue.register(*args)
    before = boto3.client("glue").get_table(DatabaseName=glue.database, Name="gold_daily_sales_summary")["Table"]
    result = glue.register(*args)
    after = boto3.client("glue").get_table(DatabaseName=glue.database, Name="gold_daily_sales_summary")["Table"]
    assert result.partitions_added == result.partitions_updated == result.columns_added == []
    assert before["StorageDescriptor"] == after["StorageDescriptor"] and len(partitions(glue)) == 1


def test_a_type_change_is_refused_before_it_breaks_older_partitions(glue):
    glue.register("gold/daily_sales_summary", LOCATION, {"business_date": "date", "revenue": "double"}, {D1: part(D1)})
    with pytest.raises(SchemaChangeError, match="revenue.*HIVE_PARTITION_SCHEMA_MISMATCH"):
        glue.register(
            "gold/daily_sales_summary", LOCATION, {"business_date": "date", "revenue": "string"}, {D2: part(D2)}
        )
    columns = [(c["Name"], c["Type"]) for c in glue.table("gold/daily_sales_summary")["StorageDescriptor"]["Columns"]]
    assert columns == [("business_date", "date"), ("revenue", "double")] and len(partitions(glue)) == 1


def test_a_table_is_never_pointed_at_another_location(glue):
    glue.register("gold/daily_sales_summary", LOCATION, {"business_date": "date"}, {D1: part(D1)})
    elsewhere = "s3://other-bucket/daily_sales_summary/"
    with pytest.raises(LocationMismatchError, match="refusing"):
        glue.register(
            "gold/daily_sales_summary",
            elsewhere,
            {"business_date": "date"},
            {D1: f"{elsewhere}year=2025/month=01/day=01/"},
        )
    with pytest.raises(LocationMismatchError, match="outside"):
        glue.register(
            "gold/daily_sales_summary",
            LOCATION,
            {"business_date": "date"},
            {D2: "s3://ecom-gold/lake/other/year=2025/"},
        )
    assert glue.table("gold/daily_sales_summary")["StorageDescriptor"]["Location"] == LOCATION


def test_athena_cost_estimate_bills_at_least_ten_megabytes():
    assert estimated_cost_usd(0) == estimated_cost_usd(10 * 1024**2) == pytest.approx(10 / 1024**2 * 5)
    assert estimated_cost_usd(1024**4) == pytest.approx(5.0)
