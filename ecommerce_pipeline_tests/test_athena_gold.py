"""The whole-history gold tables on Athena: one SQL text for both engines, UNLOAD on moto, publishing into the lake."""

import io
import re
from datetime import date, timedelta

import boto3
import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from ecommerce_pipeline.catalog.athena_gold import (
    days_relation,
    publish,
    staged_day,
    unload_statement,
)
from ecommerce_pipeline.defs.bronze.assets import bronze_assets
from ecommerce_pipeline.defs.catalog.aws_assets import aws_catalog_assets
from ecommerce_pipeline.defs.gold.athena_assets import gold_assets_for
from ecommerce_pipeline.defs.resources import aws_resources
from ecommerce_pipeline.defs.silver.assets import silver_assets
from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.s3_io_manager import configured_s3_lake
from ecommerce_pipeline.transforms import customer_lifetime_value as clv
from ecommerce_pipeline.transforms import product_performance as performance
from ecommerce_pipeline.transforms import sql as transforms_sql
from ecommerce_pipeline.transforms.sql import athena_sql, athena_to_duckdb

from .conftest import DAY, mocked_aws, upload_store

LOCAL_RELATIONS = {
    "customer_lifetime_value": {"orders": "orders", "as_of": "as_of"},
    "product_performance": {n: n for n in ("orders_validated", "events_clean", "products_clean")},
}
DAYS = [date(2025, 1, 1), date(2025, 1, 2)]


def athena_relations(days: list[date]) -> dict[str, dict[str, str]]:
    """What the Athena assets fill in: the silver Iceberg tables in Glue, restricted to the dates computed."""
    listed = ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(days))
    return {
        "customer_lifetime_value": {"orders": "silver_orders_validated", "as_of": days_relation(days[-1:])},
        "product_performance": {
            "orders_validated": f"(SELECT * FROM silver_orders_validated WHERE business_date IN ({listed}))",
            "events_clean": f"(SELECT * FROM silver_events_clean WHERE business_date IN ({listed}) AND NOT is_duplicate)",
            "products_clean": "silver_products_clean",
        },
    }


ATHENA_RELATIONS = athena_relations(DAYS)


# --- one text, two engines ----------------------------------------------------------------------------


def test_the_local_engine_runs_the_athena_file_transpiled(silver_tables, monkeypatch):
    assert clv.CLV_SQL == athena_to_duckdb(
        athena_sql("customer_lifetime_value", **LOCAL_RELATIONS["customer_lifetime_value"])
    )
    assert performance.PRODUCT_PERFORMANCE_SQL == athena_to_duckdb(
        athena_sql("product_performance", **LOCAL_RELATIONS["product_performance"])
    )
    executed = []

    def recording_query(sql, params=None, **tables):
        executed.append(sql)
        return transforms_sql.query(sql, params, **tables)

    class RecordingConnection:  # customer_lifetime_value streams through a connection of its own
        def __init__(self, con):
            self.con = con

        def sql(self, sql):
            executed.append(sql)
            return self.con.sql(sql)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(clv, "connect", lambda: RecordingConnection(transforms_sql.connect()))
    monkeypatch.setattr(performance, "query", recording_query)
    orders = silver_tables["orders_validated"]
    assert clv.customer_lifetime_value(orders, DAY).num_rows > 0
    assert performance.product_performance(
        orders, silver_tables["events_clean"], silver_tables["products_clean"]
    ).num_rows
    assert executed == [clv.CLV_SQL, performance.PRODUCT_PERFORMANCE_SQL]


@pytest.mark.parametrize("name", sorted(LOCAL_RELATIONS))
def test_the_source_is_portable_athena_sql(name):
    raw = athena_sql(name, **{k: k for k in LOCAL_RELATIONS[name]})
    for duckdb_only in ("QUALIFY", "GROUP BY ALL", "$", "::", "unnest(", "any_value("):
        assert duckdb_only.lower() not in raw.lower(), duckdb_only
    # What Athena receives (names filled in for two days) parses as a Trino query.
    statement = athena_sql(name, **ATHENA_RELATIONS[name])
    tree = sqlglot.parse_one(statement, read="trino")
    assert isinstance(tree, exp.Select)
    assert "silver_orders_validated" in {t.name for t in tree.find_all(exp.Table)}
    assert "(year = '2025' AND month = '01' AND day = '02')" in statement or "DATE '2025-01-02'" in statement
    # So does the query inside the UNLOAD, with the partition column moved last.
    unload = unload_statement(statement, ["business_date", "a", "b"], "s3://gold/_staging/x/")
    inner = re.fullmatch(r"UNLOAD \((.*)\)\nTO '.*'\nWITH \(.*\)", unload, re.S).group(1)
    assert sqlglot.parse_one(inner, read="trino").named_selects == ["a", "b", "business_date"]


def test_output_schemas_are_what_the_transforms_give_on_silver_tables(silver_tables):
    orders, events, products = (silver_tables[n] for n in ("orders_validated", "events_clean", "products_clean"))
    assert clv.customer_lifetime_value(orders, DAY).schema == clv.output_schema()
    assert performance.product_performance(orders, events, products).schema == performance.output_schema()
    for name, schema in {"orders_validated": clv.HISTORY_SCHEMA, **performance.INPUT_SCHEMAS}.items():
        assert pa.schema([silver_tables[name].schema.field(f.name) for f in schema]) == schema


def test_the_days_relation_gives_athena_and_duckdb_the_same_days():
    sql = f"SELECT as_of FROM {days_relation([DAYS[1], DAYS[0]])} ORDER BY as_of"
    assert transforms_sql.query(athena_to_duckdb(sql)).column("as_of").to_pylist() == DAYS


# --- publishing what Athena UNLOADs -------------------------------------------------------------------


def stage_like_unload(s3_uri: str, table: pa.Table) -> None:
    """Write ``table`` as Athena's UNLOAD does: business_date=<day>/ folders, several files, the column dropped."""
    s3 = boto3.client("s3")
    bucket, _, prefix = s3_uri[len("s3://") :].partition("/")
    for day in pc.unique(table.column("business_date")).to_pylist():
        rows = table.filter(pc.equal(table.column("business_date"), pa.scalar(day, pa.date32()))).drop_columns(
            "business_date"
        )
        half = rows.num_rows // 2
        for i, part in enumerate((rows.slice(0, half), rows.slice(half))):
            buffer = io.BytesIO()
            pq.write_table(part, buffer, compression="snappy")
            s3.put_object(Bucket=bucket, Key=f"{prefix}business_date={day}/2025_{i}_a1b2", Body=buffer.getvalue())


def sorted_rows(table: pa.Table, keys: list[str]) -> list[dict]:
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


def test_publishing_staged_files_gives_the_partitions_the_local_engine_writes(aws_env):
    from decimal import Decimal

    history = pa.table(
        {
            "order_id": ["O1", "O2", "O3", "O4"],
            "customer_id": ["C1", "C2", "C1", "C1"],
            "order_date": pa.array([DAYS[0], DAYS[0], DAYS[1], DAYS[0]], pa.date32()),
            "currency": ["USD"] * 4,
            "line_revenue": pa.array([Decimal(v) for v in ("10.00", "20.00", "5.00", "0.00")], pa.decimal128(18, 2)),
            "is_revenue": [True, True, True, False],
        },
        schema=clv.HISTORY_SCHEMA,
    )
    local = clv.customer_lifetime_value(history, DAYS[1])
    lake = configured_s3_lake(None, None, None, None)
    table = "gold/customer_lifetime_value"
    # An older version of the first day, with a stray object: both must go, nothing may be added.
    lake.write_partition(table, DAYS[0], local.slice(0, 1))
    stray = lake.partition_location(table, DAYS[0]) + "stray.parquet"
    boto3.client("s3").put_object(Bucket="ecom-gold", Key=stray.split("/", 3)[3], Body=b"x")
    staging = lake.staging_location(table, "run-1")
    assert staging == "s3://ecom-gold/lake/_staging/customer_lifetime_value/run-1/"
    stage_like_unload(staging, local)
    empty_day = DAYS[1] + timedelta(days=1)

    for _ in range(2):  # publishing twice replaces, never duplicates
        publish(lake, table, staging, [*DAYS, empty_day], clv.output_schema())
        for day in DAYS:
            written = lake.read_partition(table, day)
            expected = local.filter(pc.equal(local.column("business_date"), pa.scalar(day, pa.date32())))
            assert written.schema == clv.output_schema()
            assert sorted_rows(written, ["customer_id"]) == sorted_rows(expected, ["customer_id"])
        assert lake.read_partition(table, empty_day).num_rows == 0
        partition_objects = lake._objects(lake.table_location(table))
        assert sorted(partition_objects) == sorted(lake._file(table, d) for d in [*DAYS, empty_day])
    lake.delete_folder(staging)
    assert lake.read_folder(staging) is None


def test_staged_rows_take_the_local_types_and_column_order():
    staged = pa.table({"rfm_segment": ["New"], "customer_id": ["C1"], "total_orders": pa.array([1], pa.int32())})
    schema = pa.schema([("business_date", pa.date32()), ("customer_id", pa.string()), ("total_orders", pa.int64())])
    assert staged_day(staged, DAY, schema).to_pylist() == [
        {"business_date": DAY, "customer_id": "C1", "total_orders": 1}
    ]
    assert staged_day(staged, DAY, schema).schema == schema
    assert staged_day(None, DAY, schema).schema == schema


# --- the Athena engine on moto ------------------------------------------------------------------------


def test_the_engine_is_chosen_by_ecom_gold_engine_and_athena_needs_aws():
    local = gold_assets_for(load_settings({}))
    assert {a.key.path[1] for a in local} == {
        "daily_sales_summary",
        "customer_lifetime_value",
        "product_performance",
        "conversion_funnel",
    }
    athena = gold_assets_for(load_settings({"ECOM_ENV": "aws", "ECOM_GOLD_ENGINE": "athena"}))
    assert [a.key for a in athena] == [
        a.key for a in local if a.key.path[1] in ("daily_sales_summary", "conversion_funnel")
    ] + [
        dg.AssetKey(["gold", "customer_lifetime_value"]),
        dg.AssetKey(["gold", "product_performance"]),
    ]
    assert all("athena" in a.specs_by_key[a.key].kinds for a in athena[2:])
    with pytest.raises(ValueError, match="needs ECOM_ENV=aws"):
        gold_assets_for(load_settings({"ECOM_GOLD_ENGINE": "athena"}))
    with pytest.raises(ValueError, match="not one of local, athena"):
        gold_assets_for(load_settings({"ECOM_GOLD_ENGINE": "spark"}))


@pytest.fixture(scope="module")
def athena_engine_day(tmp_path_factory):
    with mocked_aws(tmp_path_factory.mktemp("athena_gold")) as env, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECOM_GOLD_ENGINE", "athena")
        upload_store(env)
        assets = [*bronze_assets, *silver_assets, *gold_assets_for(load_settings()), *aws_catalog_assets]
        with dg.instance_for_test() as instance:
            result = dg.materialize(assets, resources=aws_resources(), partition_key=DAY.isoformat(), instance=instance)
        assert result.success
        yield env, result


def unloads(env) -> dict[str, dict]:
    athena = boto3.client("athena")
    ids = athena.list_query_executions(WorkGroup=env["ECOM_ATHENA_WORKGROUP"])["QueryExecutionIds"]
    executions = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    found = {}
    for e in executions:
        match = re.search(r"^TO 's3://ecom-gold/lake/_staging/(\w+)/[^/']+/0/'$", e["Query"], re.M)
        if e["Query"].startswith("UNLOAD"):
            found[match.group(1)] = e
    return found


def test_athena_receives_the_sql_files_with_the_glue_names_filled_in(athena_engine_day):
    env, _ = athena_engine_day
    statements = unloads(env)
    assert set(statements) == {"customer_lifetime_value", "product_performance"}
    relations = athena_relations([DAY])
    expected = {
        "customer_lifetime_value": (
            athena_sql("customer_lifetime_value", **relations["customer_lifetime_value"]),
            clv.output_schema().names,
        ),
        "product_performance": (
            athena_sql("product_performance", **relations["product_performance"]),
            performance.output_schema().names,
        ),
    }
    for name, execution in statements.items():
        assert execution["WorkGroup"] == env["ECOM_ATHENA_WORKGROUP"]
        assert execution["QueryExecutionContext"]["Database"] == env["ECOM_GLUE_DATABASE"]
        assert execution["ResultConfiguration"]["OutputLocation"].startswith(env["ECOM_ATHENA_RESULTS_URI"])
        staging = re.search(r"^TO '([^']+)'$", execution["Query"], re.M).group(1)
        sql, columns = expected[name]
        assert execution["Query"] == unload_statement(sql, columns, staging)
        assert "business_date IN (DATE '2025-01-01')" in execution["Query"] or name != "product_performance"


def test_the_athena_engine_commits_to_the_gold_iceberg_tables_and_cleans_its_staging(athena_engine_day):
    env, result = athena_engine_day
    s3 = boto3.client("s3")
    gold = {o["Key"] for o in s3.list_objects_v2(Bucket="ecom-gold").get("Contents", [])}
    assert not any(k.startswith("lake/_staging/") for k in gold)  # the staging folders are gone
    glue = boto3.client("glue")
    for name in ("customer_lifetime_value", "product_performance"):
        table = glue.get_table(DatabaseName=env["ECOM_GLUE_DATABASE"], Name=f"gold_{name}")["Table"]
        assert table["Parameters"]["table_type"].upper() == "ICEBERG"
        (materialization,) = result.asset_materializations_for_node(f"gold__{name}")
        assert materialization.metadata["engine"].value == "athena"
        assert len(materialization.metadata["athena_query_ids"].value) == 1
    # The silver inputs Athena reads are the Iceberg tables pyiceberg registered in Glue.
    names = {t["Name"] for t in glue.get_tables(DatabaseName=env["ECOM_GLUE_DATABASE"])["TableList"]}
    assert {"silver_orders_validated", "silver_events_clean", "silver_products_clean"} <= names


def test_athena_assets_load_no_history_into_the_process():
    athena = {
        a.key.path[1]: a for a in gold_assets_for(load_settings({"ECOM_ENV": "aws", "ECOM_GOLD_ENGINE": "athena"}))
    }
    for name in ("customer_lifetime_value", "product_performance"):
        # On Athena the inputs are ordering-only deps: nothing of the history is loaded here.
        assert athena[name].node_def.input_defs and all(
            i.dagster_type.is_nothing for i in athena[name].node_def.input_defs
        )
        assert "athena" in athena[name].specs_by_key[dg.AssetKey(["gold", name])].kinds


def test_aws_definitions_with_the_athena_engine_load_without_deprecation_and_validate(tmp_path):
    import os
    import subprocess
    import sys

    from .conftest import aws_variables

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOM_", "AWS_"))}
    env |= aws_variables(tmp_path) | {"ECOM_GOLD_ENGINE": "athena"}
    (tmp_path / "dagster_home").mkdir()
    code = (
        "import dagster as dg, ecommerce_pipeline.definitions as d; dg.Definitions.validate_loadable(d.defs); "
        "graph = d.defs.resolve_asset_graph(); clv = dg.AssetKey(['gold', 'customer_lifetime_value']); "
        "assert 'athena' in graph.get(clv).kinds; "
        "assert dg.AssetKey(['silver', 'orders_validated']) in graph.get(clv).parent_keys"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0 and "Warning" not in proc.stderr, proc.stderr
