"""The whole pipeline for one partition on moto's S3, Glue and Athena, through Dagster."""

import boto3
import dagster as dg
import pytest

from ecommerce_pipeline.catalog.glue import glue_table_name
from ecommerce_pipeline.catalog.query_library import athena_view_name, query_names
from ecommerce_pipeline.definitions import lake_assets
from ecommerce_pipeline.defs.catalog.assets import LAKE_TABLES
from ecommerce_pipeline.defs.catalog.aws_assets import aws_catalog_assets
from ecommerce_pipeline.defs.resources import aws_resources
from ecommerce_pipeline.storage.io_manager import table_name
from ecommerce_pipeline_tests.conftest import DAY, mocked_aws, upload_store

TABLES = [table_name(k) for k in LAKE_TABLES]


def materialize(partition_key: str = "2025-01-01") -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        return dg.materialize(
            [*lake_assets, *aws_catalog_assets],
            resources=aws_resources(),
            partition_key=partition_key,
            instance=instance,
        )


def objects() -> dict[str, str]:
    s3 = boto3.client("s3")
    found = {}
    for bucket in ("ecom-bronze", "ecom-silver", "ecom-gold"):
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            found[f"s3://{bucket}/{obj['Key']}"] = obj["ETag"]
    return found


def glue_state(database: str) -> dict[str, dict]:
    glue = boto3.client("glue")
    state = {}
    for table in glue.get_tables(DatabaseName=database)["TableList"]:
        partitions = glue.get_partitions(DatabaseName=database, TableName=table["Name"])["Partitions"]
        state[table["Name"]] = {
            "location": table["StorageDescriptor"]["Location"],
            "columns": [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]],
            "keys": [k["Name"] for k in table["PartitionKeys"]],
            "partitions": sorted(
                (tuple(p["Values"]), p["StorageDescriptor"]["Location"], len(p["StorageDescriptor"]["Columns"]))
                for p in partitions
            ),
        }
    return state


@pytest.fixture(scope="module")
def one_day_on_aws(tmp_path_factory):
    """One materialization shared by the tests below: a run of every asset takes most of a minute on moto."""
    with mocked_aws(tmp_path_factory.mktemp("aws")) as env:
        upload_store(env)
        result = materialize()
        assert result.success
        yield env, result


def test_every_table_is_written_to_its_bucket_at_the_hive_key(one_day_on_aws):
    keys = set(objects())
    expected = {
        "bronze/orders": "s3://ecom-bronze/orders/year=2025/month=01/day=01/part-0.parquet",
        "quarantine/bronze_orders": "s3://ecom-bronze/quarantine/bronze_orders/year=2025/month=01/day=01/part-0.parquet",
        "silver/orders_validated": "s3://ecom-silver/orders_validated/year=2025/month=01/day=01/part-0.parquet",
        "gold/daily_sales_summary": "s3://ecom-gold/lake/daily_sales_summary/year=2025/month=01/day=01/part-0.parquet",
    }
    assert set(expected.values()) <= keys
    assert len(keys) == len(TABLES) == 21


def test_every_table_is_registered_in_glue_with_its_columns_and_partition(one_day_on_aws):
    env, _ = one_day_on_aws
    state = glue_state(env["ECOM_GLUE_DATABASE"])
    assert set(state) == {glue_table_name(t) for t in TABLES}
    sales = state["gold_daily_sales_summary"]
    assert sales["location"] == "s3://ecom-gold/lake/daily_sales_summary/"
    assert sales["keys"] == ["year", "month", "day"]
    assert sales["columns"] == [
        ("business_date", "date"),
        ("order_date", "date"),
        ("product_category", "string"),
        ("region", "string"),
        ("total_orders", "bigint"),
        ("total_revenue", "double"),
        ("avg_order_value", "double"),
        ("unique_customers", "bigint"),
        ("units_sold", "bigint"),
    ]
    assert sales["partitions"] == [
        (("2025", "01", "01"), "s3://ecom-gold/lake/daily_sales_summary/year=2025/month=01/day=01/", 9)
    ]
    quarantine = state["quarantine_bronze_orders"]
    assert quarantine["location"] == "s3://ecom-bronze/quarantine/bronze_orders/"
    assert ("_ingested_at", "timestamp") in quarantine["columns"]
    for name, table in state.items():
        ((values, location, _),) = table["partitions"]
        assert location.startswith(table["location"]) and location.endswith("year=2025/month=01/day=01/"), name


def test_athena_gets_the_views_and_a_verification_query_per_gold_table(one_day_on_aws):
    env, result = one_day_on_aws
    athena = boto3.client("athena")
    ids = athena.list_query_executions(WorkGroup=env["ECOM_ATHENA_WORKGROUP"])["QueryExecutionIds"]
    executions = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    assert all(e["QueryExecutionContext"]["Database"] == env["ECOM_GLUE_DATABASE"] for e in executions)
    assert all(e["WorkGroup"] == env["ECOM_ATHENA_WORKGROUP"] for e in executions)
    sqls = [e["Query"] for e in executions]
    for name in query_names():
        assert sum(s.startswith(f"CREATE OR REPLACE VIEW {athena_view_name(name)} AS") for s in sqls) == 1
    counts = [s for s in sqls if s.startswith("SELECT count(*)")]
    assert len(counts) == 4
    assert all("(year = '2025' AND month = '01' AND day = '01')" in s for s in counts)
    metadata = result.asset_materializations_for_node("catalog__athena")[0].metadata
    verification = metadata["verification_queries"].value
    assert set(verification) == {
        "gold_daily_sales_summary",
        "gold_customer_lifetime_value",
        "gold_product_performance",
        "gold_conversion_funnel",
    }
    # moto reports no bytes scanned, so each query is billed Athena's 10 MB minimum.
    assert metadata["bytes_scanned"].value == sum(v["bytes_scanned"] for v in verification.values())
    assert metadata["estimated_cost_usd"].value == pytest.approx(4 * 10 / 1024**2 * 5, abs=1e-8)


def test_rerunning_the_partition_is_idempotent(one_day_on_aws):
    env, _ = one_day_on_aws
    before_objects, before_glue = set(objects()), glue_state(env["ECOM_GLUE_DATABASE"])
    assert materialize().success
    assert set(objects()) == before_objects
    assert glue_state(env["ECOM_GLUE_DATABASE"]) == before_glue


def test_aws_definitions_load_without_deprecation_and_validate(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from ecommerce_pipeline_tests.conftest import aws_variables

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOM_", "AWS_"))} | aws_variables(tmp_path)
    (tmp_path / "dagster_home").mkdir()
    code = (
        "import ecommerce_pipeline.definitions as d; keys = d.defs.resolve_asset_graph().get_all_asset_keys(); "
        "assert any(k.path[:2] == ['catalog', 'glue'] for k in keys) and ['catalog', 'duckdb'] not in [k.path for k in keys]"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0 and "Warning" not in proc.stderr, proc.stderr
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "ecommerce_pipeline.definitions"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_athena_counts_are_compared_with_the_lake_rows(one_day_on_aws):
    from ecommerce_pipeline.defs.catalog.aws_assets import GOLD_TABLES, athena_registration
    from ecommerce_pipeline.storage.s3_io_manager import configured_s3_lake
    from ecommerce_pipeline_tests.conftest import queue_athena_results

    _, result = one_day_on_aws
    # moto runs no SQL: with no answer the counts are reported as not verified (a warning), never as passed.
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "gold_row_counts"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "not verified" in check.metadata["reason"].value

    lake = configured_s3_lake(None, None, None, None)
    rows = {t: lake.read_partition(t, DAY).num_rows for t in GOLD_TABLES}
    assert all(rows.values())

    def verify(counts: dict[str, int]) -> dg.AssetCheckEvaluation:
        # Athena's answers in the order the asset asks: the six views (no rows), then one count per gold table.
        queue_athena_results(*[None] * len(query_names()), *[[{"row_count": counts[t]}] for t in GOLD_TABLES])
        with dg.instance_for_test() as instance:
            run = dg.materialize(
                [athena_registration], resources=aws_resources(), partition_key=DAY.isoformat(), instance=instance
            )
        (evaluation,) = run.get_asset_check_evaluations()
        return evaluation

    agreed = verify(rows)
    assert agreed.passed, agreed.metadata
    sales = "gold/daily_sales_summary"
    assert agreed.metadata["counts"].value["gold_daily_sales_summary"] == {"athena": rows[sales], "lake": rows[sales]}
    differs = verify({**rows, sales: rows[sales] + 1})
    assert not differs.passed and differs.severity == dg.AssetCheckSeverity.ERROR
    assert differs.metadata["reason"].value == (
        f"Athena and the lake disagree: gold_daily_sales_summary Athena {rows[sales] + 1} vs lake {rows[sales]} rows"
    )
