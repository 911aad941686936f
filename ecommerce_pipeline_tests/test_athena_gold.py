"""The whole-history gold tables on Athena: one SQL text for both engines, UNLOAD on moto (with the SQL run on
DuckDB, which moto cannot do), verifying what was staged and committing it to the gold Iceberg tables."""

import re
from datetime import date, timedelta

import boto3
import dagster as dg
import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from ecommerce_pipeline.catalog.athena_gold import (
    UnloadRefused,
    compute_on_athena,
    days_relation,
    publish,
    read_staged,
    staged_day,
    unload_statement,
    verify_staged,
)
from ecommerce_pipeline.defs.bronze.assets import bronze_assets
from ecommerce_pipeline.defs.catalog.aws_assets import aws_catalog_assets
from ecommerce_pipeline.defs.errors import describe_failure
from ecommerce_pipeline.defs.gold.athena_assets import IcebergPublisher, gold_assets_for
from ecommerce_pipeline.defs.resources import AwsCatalogResource, GlueTablesResource, aws_resources
from ecommerce_pipeline.defs.silver.assets import silver_assets
from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.s3_io_manager import S3Locations
from ecommerce_pipeline.transforms import customer_lifetime_value as clv
from ecommerce_pipeline.transforms import product_performance as performance
from ecommerce_pipeline.transforms import sql as transforms_sql
from ecommerce_pipeline.transforms.sql import athena_sql, athena_to_duckdb

from .conftest import DAY, athena_on_duckdb, mocked_aws, stage_like_unload, staged_files, upload_store

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

    class RecordingConnection:
        """customer_lifetime_value streams its input through its own DuckDB connection: record what it runs."""

        def __init__(self, con):
            self.con = con

        def __getattr__(self, name):
            return getattr(self.con, name)

        def sql(self, text, *args, **kwargs):
            executed.append(text)
            return self.con.sql(text, *args, **kwargs)

    monkeypatch.setattr(clv, "connect", lambda: RecordingConnection(transforms_sql.connect()))
    monkeypatch.setattr(clv, "own_database", lambda: RecordingConnection(transforms_sql.own_database()))
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


def sorted_rows(table: pa.Table, keys: list[str]) -> list[dict]:
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


def test_publishing_staged_files_gives_the_rows_the_local_engine_commits(aws_env):
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
    local = pa.concat_tables([clv.customer_lifetime_value(history, day) for day in DAYS])
    lake, store = S3Locations().lake(), GlueTablesResource().store()
    table = "gold/customer_lifetime_value"
    # An older version of the first day: it must go, nothing may be added.
    store.restate(table, "business_date", [DAYS[0]], local.slice(0, 1))
    staging = lake.staging_location(table, "run-1")
    assert staging == "s3://ecom-gold/lake/_staging/customer_lifetime_value/run-1/"
    stage_like_unload(staging, local)
    empty_day = DAYS[1] + timedelta(days=1)
    staged = read_staged(lake.session, staging, staged_files(staging), [*DAYS, empty_day])
    assert [staged[d].num_rows for d in DAYS] == [2, 2] and staged[empty_day] is None

    for _ in range(2):  # publishing twice replaces, never duplicates
        publisher = IcebergPublisher(lake, store, table)
        publish(publisher, table, staged, clv.output_schema())
        publisher.commit(clv.output_schema())
        written = store.read(table)
        assert written.select(clv.output_schema().names).cast(clv.output_schema()).num_rows == local.num_rows
        assert sorted_rows(written, ["business_date", "customer_id"]) == sorted_rows(
            local, ["business_date", "customer_id"]
        )
    lake.delete_folder(staging)
    assert lake.read_folder(staging) is None


def test_only_the_files_in_the_manifest_are_read_and_they_must_exist(aws_env):
    lake = S3Locations().lake()
    staging = lake.staging_location("gold/customer_lifetime_value", "run-2")
    rows = pa.table({"business_date": pa.array([DAYS[0]] * 4, pa.date32()), "customer_id": ["C1", "C2", "C3", "C4"]})
    stage_like_unload(staging, rows)
    first, second = staged_files(staging)
    # A file left in the folder but not in the manifest (an earlier, failed write) is not published.
    assert read_staged(lake.session, staging, [second], [DAYS[0]])[DAYS[0]].num_rows == 2
    with pytest.raises(UnloadRefused, match="not in the staging folder"):
        read_staged(lake.session, staging, [first, first.replace("_0_", "_9_")], [DAYS[0]])
    with pytest.raises(UnloadRefused, match="not a day's file"):
        read_staged(lake.session, staging, ["s3://elsewhere/business_date=2025-01-01/x"], [DAYS[0]])
    with pytest.raises(UnloadRefused, match="not a day's file"):
        read_staged(lake.session, staging, [first], [DAYS[1]])


def test_verification_refuses_count_mismatches_and_empty_days_over_inputs_with_rows():
    verify_staged("gold/t", {DAYS[0]: 3, DAYS[1]: 0}, {DAYS[0]: 3}, {DAYS[0]})  # a truly empty day is fine
    with pytest.raises(UnloadRefused, match=r"2025-01-01: UNLOAD staged 2 rows, count\(\*\) of the same SQL gives 3"):
        verify_staged("gold/t", {DAYS[0]: 2}, {DAYS[0]: 3}, {DAYS[0]})
    with pytest.raises(UnloadRefused, match="2025-01-02: no rows, but its inputs in silver have rows"):
        verify_staged("gold/t", {DAYS[0]: 3, DAYS[1]: 0}, {DAYS[0]: 3}, {DAYS[0], DAYS[1]})


CASES = {
    "agree": {},
    "count differs": {"extra_rows": 1},
    "no manifest": {"manifest": False},
    "nothing staged": {"stage": False, "answer": False},  # moto as it is: no file, no answer
    "nothing staged, count answers": {"stage": False},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_engine_commits_only_what_the_manifest_and_the_count_agree_on(aws_env, silver_tables, case):
    lake, store = S3Locations().lake(), GlueTablesResource().store()
    table = "gold/customer_lifetime_value"
    computed = clv.customer_lifetime_value(silver_tables["orders_validated"], DAY)
    previous = computed.slice(0, 1)
    store.replace(table, previous)
    with pytest.MonkeyPatch.context() as mp:
        athena_on_duckdb(mp, lambda name, _: silver_tables[name.removeprefix("silver_")], **CASES[case])
        publisher = IcebergPublisher(lake, store, table)

        def call():
            runs = compute_on_athena(
                AwsCatalogResource().athena(),
                publisher,
                table,
                lambda chunk: {"orders": "silver_orders_validated", "as_of": days_relation(chunk)},
                [DAY],
                clv.output_schema(),
                token=f"test-{case.replace(' ', '-').replace(',', '')}",
                days_with_input=lambda chunk: set(chunk),
            )
            publisher.commit(clv.output_schema(), replace_all=True)
            return runs

        if case == "agree":
            assert [r.state for r in call()] == ["SUCCEEDED", "SUCCEEDED"]
            # What Athena computed is what the local engine computes from the same silver rows.
            assert sorted_rows(store.read(table).select(computed.schema.names), ["customer_id"]) == sorted_rows(
                computed, ["customer_id"]
            )
        else:
            n = computed.num_rows
            expected = {
                "count differs": rf"UNLOAD staged {n} rows, count\(\*\) of the same SQL gives {n + 1}",
                "no manifest": "wrote no data manifest",
                "nothing staged": "2025-01-01: no rows, but its inputs in silver have rows",
                "nothing staged, count answers": rf"UNLOAD staged 0 rows, count\(\*\) of the same SQL gives {n}",
            }[case]
            with pytest.raises(UnloadRefused, match=expected):
                call()
            assert store.read(table).num_rows == 1 and store.snapshot_rows(table)[1] == 1  # the old rows are intact
    assert staged_files(lake.staging_location(table, "")) == []  # staging removed either way


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
    """A day run with ECOM_GOLD_ENGINE=athena (the SQL run on DuckDB over the Glue Iceberg tables), then the same
    day again on moto as it is, where UNLOAD stages no file and no query answers a row."""
    with mocked_aws(tmp_path_factory.mktemp("athena_gold")) as env, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECOM_GOLD_ENGINE", "athena")
        upload_store(env)
        assets = [*bronze_assets, *silver_assets, *gold_assets_for(load_settings()), *aws_catalog_assets]
        store = GlueTablesResource().store()
        with dg.instance_for_test() as instance, pytest.MonkeyPatch.context() as athena:
            statements = athena_on_duckdb(athena)
            first = dg.materialize(assets, resources=aws_resources(), partition_key=DAY.isoformat(), instance=instance)
        assert first.success
        good = {name: store.read(f"gold/{name}") for name in ("customer_lifetime_value", "product_performance")}
        snapshots = {name: store.load(f"gold/{name}").current_snapshot().snapshot_id for name in good}
        with dg.instance_for_test() as instance, pytest.MonkeyPatch.context() as athena:
            refused_statements = athena_on_duckdb(athena, stage=False, answer=False)
            refused = dg.materialize(
                assets,
                resources=aws_resources(),
                partition_key=DAY.isoformat(),
                instance=instance,
                raise_on_error=False,
            )
        yield {
            "env": env,
            "first": first,
            "statements": statements,
            "good": good,
            "snapshots": snapshots,
            "refused": refused,
            "refused_statements": refused_statements,
        }


def unloads(env, statements: list[str]) -> dict[str, dict]:
    athena = boto3.client("athena")
    ids = athena.list_query_executions(WorkGroup=env["ECOM_ATHENA_WORKGROUP"])["QueryExecutionIds"]
    executions = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    found = {}
    for e in executions:
        if e["Query"] not in statements:
            continue
        match = re.search(r"^TO 's3://ecom-gold/lake/_staging/(\w+)/[^/']+/0/'$", e["Query"], re.M)
        if e["Query"].startswith("UNLOAD"):
            found[match.group(1)] = e
    return found


def test_athena_receives_the_sql_files_with_the_glue_names_filled_in(athena_engine_day):
    env = athena_engine_day["env"]
    statements = unloads(env, athena_engine_day["statements"])
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
    env, result, good = athena_engine_day["env"], athena_engine_day["first"], athena_engine_day["good"]
    s3 = boto3.client("s3")
    gold = {o["Key"] for o in s3.list_objects_v2(Bucket="ecom-gold").get("Contents", [])}
    assert not any(k.startswith("lake/_staging/") for k in gold)  # the staging folders are gone
    glue = boto3.client("glue")
    for name in ("customer_lifetime_value", "product_performance"):
        table = glue.get_table(DatabaseName=env["ECOM_GLUE_DATABASE"], Name=f"gold_{name}")["Table"]
        assert table["Parameters"]["table_type"].upper() == "ICEBERG"
        (materialization,) = result.asset_materializations_for_node(f"gold__{name}")
        assert materialization.metadata["engine"].value == "athena"
        # The UNLOAD and the count(*) of the same SQL its staged rows were compared with.
        assert len(materialization.metadata["athena_query_ids"].value) == 2
        assert good[name].num_rows > 0 and materialization.metadata["dagster/row_count"].value == good[name].num_rows
    # The silver inputs Athena reads are the Iceberg tables pyiceberg registered in Glue.
    names = {t["Name"] for t in glue.get_tables(DatabaseName=env["ECOM_GLUE_DATABASE"])["TableList"]}
    assert {"silver_orders_validated", "silver_events_clean", "silver_products_clean"} <= names
    # The verification counts (on DuckDB, as Athena would answer) agree with the Iceberg snapshots.
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "gold_row_counts"]
    assert check.passed, check.metadata


def test_the_athena_engine_gives_the_local_engines_rows(athena_engine_day, silver_tables):
    good = athena_engine_day["good"]
    clv_rows = clv.customer_lifetime_value(silver_tables["orders_validated"], DAY)
    assert sorted_rows(good["customer_lifetime_value"].select(clv_rows.schema.names), ["customer_id"]) == sorted_rows(
        clv_rows, ["customer_id"]
    )
    products = performance.product_performance(
        silver_tables["orders_validated"], silver_tables["events_clean"], silver_tables["products_clean"]
    )
    keys = ["product_id", "currency"]
    assert sorted_rows(good["product_performance"].select(products.schema.names), keys) == sorted_rows(products, keys)


def test_when_unload_stages_nothing_the_run_fails_and_the_good_rows_stay(athena_engine_day):
    result = athena_engine_day["refused"]
    assert not result.success
    failures = {
        e.step_key: describe_failure(e.step_key, e.step_failure_data.error) for e in result.get_step_failure_events()
    }
    assert set(failures) == {"gold__customer_lifetime_value", "gold__product_performance"}
    for name in athena_engine_day["good"]:
        cause = failures[f"gold__{name}"]
        assert "UnloadRefused" in cause and f"gold/{name}: refusing to publish" in cause, cause
        assert "2025-01-01: no rows, but its inputs in silver have rows" in cause, cause
    # The good rows are exactly as they were (no commit at all), and nothing was left in staging.
    store = GlueTablesResource().store()
    for name, table in athena_engine_day["good"].items():
        assert store.load(f"gold/{name}").current_snapshot().snapshot_id == athena_engine_day["snapshots"][name]
        assert store.read(f"gold/{name}").equals(table)
    gold = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="ecom-gold").get("Contents", [])}
    assert not any(k.startswith("lake/_staging/") for k in gold)
    # A refusal is not retried: one UNLOAD per table.
    assert sum(q.startswith("UNLOAD") for q in athena_engine_day["refused_statements"]) == 2
    # Nothing downstream of the refused tables ran; the rest of the day did.
    assert not result.asset_materializations_for_node("catalog__athena")
    assert result.asset_materializations_for_node("gold__daily_sales_summary")


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
