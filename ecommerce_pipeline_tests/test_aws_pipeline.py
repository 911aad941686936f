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
PARQUET = [t for t in TABLES if t.split("/")[0] in ("bronze", "quarantine")]


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
            "keys": [k["Name"] for k in table.get("PartitionKeys", [])],
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


def test_bronze_is_hive_parquet_and_silver_and_gold_are_iceberg_tables_in_their_buckets(one_day_on_aws):
    keys = set(objects())
    assert "s3://ecom-bronze/orders/year=2025/month=01/day=01/part-0.parquet" in keys
    assert "s3://ecom-bronze/quarantine/bronze_orders/year=2025/month=01/day=01/part-0.parquet" in keys
    for prefix in ("s3://ecom-silver/orders_validated/", "s3://ecom-gold/lake/daily_sales_summary/"):
        assert any(k.startswith(prefix + "metadata/") and k.endswith(".metadata.json") for k in keys), prefix
        assert any(k.startswith(prefix + "data/business_date=2025-01-01/") and k.endswith(".parquet") for k in keys)
    parquet = {k for k in keys if k.endswith("part-0.parquet")}
    assert len(parquet) == len(PARQUET)


def test_every_table_is_registered_in_glue(one_day_on_aws):
    env, _ = one_day_on_aws
    state = glue_state(env["ECOM_GLUE_DATABASE"])
    assert {glue_table_name(t) for t in TABLES} <= set(state)
    quarantine = state["quarantine_bronze_orders"]
    assert quarantine["location"] == "s3://ecom-bronze/quarantine/bronze_orders/"
    assert quarantine["keys"] == ["year", "month", "day"]
    assert ("_ingested_at", "timestamp") in quarantine["columns"]
    for name in (glue_table_name(t) for t in PARQUET):
        ((values, location, _),) = state[name]["partitions"]
        assert location.startswith(state[name]["location"]) and location.endswith("year=2025/month=01/day=01/"), name
    glue = boto3.client("glue")
    sales = glue.get_table(DatabaseName=env["ECOM_GLUE_DATABASE"], Name="gold_daily_sales_summary")["Table"]
    assert sales["Parameters"]["table_type"].upper() == "ICEBERG"
    assert sales["Parameters"]["metadata_location"].startswith("s3://ecom-gold/lake/daily_sales_summary/metadata/")


def test_gold_on_s3_holds_the_figures_the_local_engine_computes(one_day_on_aws):
    from ecommerce_pipeline.defs.resources import GlueTablesResource

    store = GlueTablesResource().store()
    sales = store.read("gold/daily_sales_summary")
    assert str(sales.schema.field("total_revenue").type) == "decimal128(18, 2)"
    orders = store.read("silver/orders_validated")
    revenue = sum(r["line_revenue"] for r in orders.to_pylist() if r["is_revenue"])
    assert sum(sales.column("total_revenue").to_pylist()) == revenue > 0


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
    from ecommerce_pipeline.defs.resources import GlueTablesResource

    store = GlueTablesResource().store()
    gold = ["gold/daily_sales_summary", "gold/customer_lifetime_value", "gold/product_performance"]
    before_parquet = {k: v for k, v in objects().items() if k.endswith("part-0.parquet")}
    before_gold = {t: store.read(t) for t in gold}
    assert materialize().success
    assert {k: v for k, v in objects().items() if k.endswith("part-0.parquet")}.keys() == before_parquet.keys()
    for table, rows in before_gold.items():
        after = store.read(table)
        assert sorted(after.to_pylist(), key=repr) == sorted(rows.to_pylist(), key=repr) != [], table


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
    from ecommerce_pipeline.defs.resources import GlueTablesResource
    from ecommerce_pipeline_tests.conftest import queue_athena_results

    env, result = one_day_on_aws
    # moto runs no SQL: with no answer the counts are reported as not verified (a warning), never as passed.
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "gold_row_counts"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "not verified" in check.metadata["reason"].value

    # The lake's side is the row count in the Iceberg snapshot's summary: the rows a reader of the table gets.
    store = GlueTablesResource().store()
    rows = {t: store.read(t).num_rows for t in GOLD_TABLES}
    assert all(rows.values()) and rows == {t: store.snapshot_rows(t)[1] for t in GOLD_TABLES}

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
    snapshot_id = store.snapshot_rows(sales)[0]
    assert agreed.metadata["counts"].value["gold_daily_sales_summary"] == {
        "athena": rows[sales],
        "lake": rows[sales],
        "snapshot_id": snapshot_id,
    }
    # Athena is asked for the count of that very snapshot (a commit in between cannot make them differ).
    athena = boto3.client("athena")
    ids = athena.list_query_executions(WorkGroup=env["ECOM_ATHENA_WORKGROUP"])["QueryExecutionIds"]
    queries = {athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids}
    assert f"SELECT count(*) AS row_count FROM gold_daily_sales_summary FOR VERSION AS OF {snapshot_id}" in queries
    differs = verify({**rows, sales: rows[sales] + 1})
    assert not differs.passed and differs.severity == dg.AssetCheckSeverity.ERROR
    assert differs.metadata["reason"].value == (
        f"Athena and the lake disagree: gold_daily_sales_summary Athena {rows[sales] + 1} vs lake {rows[sales]} rows"
    )
