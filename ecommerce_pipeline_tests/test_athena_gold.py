"""The whole-history gold tables on Athena: one SQL text for both engines, UNLOAD on moto, publishing into the lake."""

import io
import os
import re
from collections.abc import Callable
from datetime import date, timedelta

import boto3
import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from ecommerce_pipeline.catalog.athena import Athena
from ecommerce_pipeline.catalog.athena_gold import (
    UnloadRefused,
    compute_on_athena,
    days_relation,
    parquet_rows,
    partitions_of,
    publish,
    read_staged,
    staged_day,
    unload_statement,
    verify_staged,
)
from ecommerce_pipeline.defs.bronze.assets import bronze_assets
from ecommerce_pipeline.defs.catalog.aws_assets import aws_catalog_assets
from ecommerce_pipeline.defs.errors import describe_failure
from ecommerce_pipeline.defs.gold.athena_assets import gold_assets_for
from ecommerce_pipeline.defs.resources import aws_resources
from ecommerce_pipeline.defs.silver.assets import silver_assets
from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.s3_io_manager import configured_s3_lake
from ecommerce_pipeline.transforms import customer_lifetime_value as clv
from ecommerce_pipeline.transforms import product_performance as performance
from ecommerce_pipeline.transforms import sql as transforms_sql
from ecommerce_pipeline.transforms.sql import athena_sql, athena_to_duckdb

from .conftest import DAY, mocked_aws, queue_athena_results, upload_store

LOCAL_RELATIONS = {
    "customer_lifetime_value": {"history": "history", "as_of_days": "as_of_days"},
    "product_performance": {n: n for n in ("orders_validated", "events_clean", "products_clean")},
}
DAYS = [date(2025, 1, 1), date(2025, 1, 2)]
ATHENA_RELATIONS = {
    "customer_lifetime_value": {"history": "silver_orders_validated", "as_of_days": days_relation(DAYS)},
    "product_performance": {
        n: partitions_of(f"silver_{n}", DAYS) for n in ("orders_validated", "events_clean", "products_clean")
    },
}


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

    monkeypatch.setattr(clv, "query", recording_query)
    monkeypatch.setattr(performance, "query", recording_query)
    orders = silver_tables["orders_validated"]
    assert clv.customer_lifetime_value(orders, [DAY]).num_rows > 0
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
    assert clv.customer_lifetime_value(orders, [DAY]).schema == clv.output_schema()
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


def write_manifest(uri: str, files: list[str]) -> None:
    """A data manifest as Athena writes it: one s3:// path a line."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body="".join(f"{f}\n" for f in files).encode())


def staged_files(staging: str) -> list[str]:
    bucket, _, prefix = staging[len("s3://") :].partition("/")
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(f"s3://{bucket}/{o['Key']}" for o in listed)


def test_publishing_staged_files_gives_the_partitions_the_local_engine_writes(aws_env):
    history = pa.table(
        {
            "business_date": pa.array([DAYS[0], DAYS[0], DAYS[1], DAYS[1]], pa.date32()),
            "order_id": ["O1", "O2", "O3", "O1"],
            "customer_id": ["C1", "C2", "C1", "C1"],
            "order_date": pa.array([DAYS[0], DAYS[0], DAYS[1], DAYS[0]], pa.date32()),
            "line_revenue": [10.0, 20.0, 5.0, 0.0],
            "is_revenue": [True, True, True, False],
        }
    )
    local = clv.customer_lifetime_value(history, DAYS)
    lake = configured_s3_lake(None, None, None, None)
    table = "gold/customer_lifetime_value"
    # An older version of the first day, with a stray object: both must go, nothing may be added.
    lake.write_partition(table, DAYS[0], local.slice(0, 1))
    stray = lake.partition_location(table, DAYS[0]) + "stray.parquet"
    boto3.client("s3").put_object(Bucket="ecom-gold", Key=stray.split("/", 3)[3], Body=b"x")
    staging = lake.staging_location(table, "run-1")
    assert staging == "s3://ecom-gold/lake/_staging/customer_lifetime_value/run-1/"
    stage_like_unload(staging, local)
    manifest = staged_files(staging)
    empty_day = DAYS[1] + timedelta(days=1)
    staged = read_staged(lake.session, staging, manifest, [*DAYS, empty_day])
    assert [staged[d].num_rows for d in DAYS] == [2, 2] and staged[empty_day] is None

    for _ in range(2):  # publishing twice replaces, never duplicates
        publish(lake, table, staged, clv.output_schema())
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


def test_only_the_files_in_the_manifest_are_read_and_they_must_exist(aws_env):
    lake = configured_s3_lake(None, None, None, None)
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
    with pytest.raises(UnloadRefused, match="2025-01-02: no rows, but the day's inputs in the lake have rows"):
        verify_staged("gold/t", {DAYS[0]: 3, DAYS[1]: 0}, {DAYS[0]: 3}, {DAYS[0], DAYS[1]})


def test_parquet_rows_reads_the_footer_of_a_lake_file(aws_env):
    lake = configured_s3_lake(None, None, None, None)
    big = pa.table({"business_date": pa.array([DAY] * 50_000, pa.date32()), "x": [str(i) * 3 for i in range(50_000)]})
    for day, table in ((DAYS[0], big), (DAYS[1], big.slice(0, 0))):
        stats = lake.write_partition("silver/orders_validated", day, table)
        assert parquet_rows(lake.session, stats.location) == table.num_rows


@pytest.mark.parametrize("case", ["agree", "count differs", "no manifest", "nothing staged"])
def test_the_engine_publishes_only_what_the_manifest_and_the_count_agree_on(aws_env, silver_tables, case):
    lake = configured_s3_lake(None, None, None, None)
    table = "gold/customer_lifetime_value"
    previous = good_partitions(silver_tables)["customer_lifetime_value"].slice(0, 1)
    lake.write_partition(table, DAY, previous)
    computed = good_partitions(silver_tables)["customer_lifetime_value"]
    athena = configured_athena()
    stage = None if case == "nothing staged" else (lambda staging: computed)
    counts = {"count differs": computed.num_rows + 1}.get(case, computed.num_rows)
    queue_athena_results(
        None, [{"business_date": DAY.isoformat(), "row_count": counts}] if case != "nothing staged" else []
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Athena, "run", unloading(stage, manifest=case != "no manifest"))
        call = lambda: compute_on_athena(  # noqa: E731
            athena,
            lake,
            table,
            lambda chunk: {"history": "silver_orders_validated", "as_of_days": days_relation(chunk)},
            [DAY],
            clv.output_schema(),
            token=f"test-{case.replace(' ', '-')}",
            days_with_input=lambda chunk: set(chunk),
        )
        if case == "agree":
            runs = call()
            assert [r.state for r in runs] == ["SUCCEEDED", "SUCCEEDED"]
            assert sorted_rows(lake.read_partition(table, DAY), ["customer_id"]) == sorted_rows(
                computed, ["customer_id"]
            )
        else:
            expected = {
                "count differs": f"UNLOAD staged {computed.num_rows} rows, count\\(\\*\\) of the same SQL gives {counts}",
                "no manifest": "wrote no data manifest",
                "nothing staged": "no rows, but the day's inputs in the lake have rows",
            }[case]
            with pytest.raises(UnloadRefused, match=expected):
                call()
            assert lake.read_partition(table, DAY).equals(previous)  # the old partition is intact
    assert staged_files(lake.staging_location(table, "")) == []  # staging removed either way


def configured_athena() -> Athena:
    from ecommerce_pipeline.defs.resources import AwsCatalogResource

    return AwsCatalogResource().athena()


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


def unloading(stage: Callable[[str], pa.Table | None] | None, manifest: bool = True):
    """``Athena.run`` on moto plus what a real UNLOAD leaves behind (moto runs no SQL): ``stage(staging uri)``'s
    rows written as Athena writes them, and the data manifest listing them beside the query's result."""
    real_run = Athena.run

    def run(self, sql):
        done = real_run(self, sql)
        if sql.startswith("UNLOAD"):
            staging = re.search(r"^TO '([^']+)'$", sql, re.M).group(1)
            rows = stage(staging) if stage else None
            if rows is not None and rows.num_rows:
                stage_like_unload(staging, rows)
            if manifest:
                location = done.output_location.rsplit("/", 1)[0] + f"/{done.query_id}-manifest.csv"
                write_manifest(location, staged_files(staging))
        return done

    return run


def good_partitions(silver_tables) -> dict[str, pa.Table]:
    """The day's gold tables as the local engine computes them: the good partitions a refused run must keep."""
    orders = silver_tables["orders_validated"]
    return {
        "customer_lifetime_value": clv.customer_lifetime_value(orders, [DAY]),
        "product_performance": performance.product_performance(
            orders, silver_tables["events_clean"], silver_tables["products_clean"]
        ),
    }


@pytest.fixture(scope="module")
def athena_engine_day(tmp_path_factory, silver_tables):
    """A day run with ECOM_GOLD_ENGINE=athena where UNLOAD stages no file at all (an empty manifest), over
    good partitions of both Athena gold tables written before."""
    with mocked_aws(tmp_path_factory.mktemp("athena_gold")) as env, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECOM_GOLD_ENGINE", "athena")
        mp.setattr(Athena, "run", unloading(stage=None))
        upload_store(env)
        lake = configured_s3_lake(None, None, None, None)
        good = good_partitions(silver_tables)
        for name, table in good.items():
            assert table.num_rows > 0
            lake.write_partition(f"gold/{name}", DAY, table)
        assets = [*bronze_assets, *silver_assets, *gold_assets_for(load_settings()), *aws_catalog_assets]
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                assets,
                resources=aws_resources(),
                partition_key=DAY.isoformat(),
                instance=instance,
                raise_on_error=False,
            )
        yield env, result, good


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
    env, _, _ = athena_engine_day
    statements = unloads(env)
    assert set(statements) == {"customer_lifetime_value", "product_performance"}
    day = [DAY]
    expected = {
        "customer_lifetime_value": (
            athena_sql("customer_lifetime_value", history="silver_orders_validated", as_of_days=days_relation(day)),
            clv.output_schema().names,
        ),
        "product_performance": (
            athena_sql(
                "product_performance",
                **{
                    n: partitions_of(f"silver_{n}", day) for n in ("orders_validated", "events_clean", "products_clean")
                },
            ),
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
        assert (
            "WHERE (year = '2025' AND month = '01' AND day = '01')" in execution["Query"]
            or name != "product_performance"
        )


def test_when_unload_stages_nothing_the_run_fails_and_the_good_partitions_stay(athena_engine_day):
    env, result, good = athena_engine_day
    assert not result.success
    failures = {
        e.step_key: describe_failure(e.step_key, e.step_failure_data.error) for e in result.get_step_failure_events()
    }
    assert set(failures) == {"gold__customer_lifetime_value", "gold__product_performance"}
    for name in good:
        cause = failures[f"gold__{name}"]
        assert "UnloadRefused" in cause and f"gold/{name}: refusing to publish" in cause, cause
        assert "2025-01-01: no rows, but the day's inputs in the lake have rows" in cause, cause
    # The good partitions are exactly as they were, and nothing was left in staging.
    lake = configured_s3_lake(None, None, None, None)
    for name, table in good.items():
        assert lake.read_partition(f"gold/{name}", DAY).equals(table)
    gold = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="ecom-gold").get("Contents", [])}
    assert not any(k.startswith("lake/_staging/") for k in gold)
    # A refusal is not retried: one UNLOAD per table.
    assert set(unloads(env)) == {"customer_lifetime_value", "product_performance"}
    statements = [
        boto3.client("athena").get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"]
        for i in boto3.client("athena").list_query_executions(WorkGroup=env["ECOM_ATHENA_WORKGROUP"])[
            "QueryExecutionIds"
        ]
    ]
    assert sum(q.startswith("UNLOAD") for q in statements) == 2
    # Nothing downstream of the refused tables ran; the rest of the day did.
    done = (
        {e.step_key for e in result.get_step_success_events()} if hasattr(result, "get_step_success_events") else set()
    )
    assert "catalog__glue__gold__customer_lifetime_value" not in done
    assert result.asset_materializations_for_node("gold__daily_sales_summary")


def test_athena_assets_load_no_history_into_the_process():
    local = {a.key.path[1]: a for a in gold_assets_for(load_settings({}))}
    athena = {
        a.key.path[1]: a for a in gold_assets_for(load_settings({"ECOM_ENV": "aws", "ECOM_GOLD_ENGINE": "athena"}))
    }
    for name in ("customer_lifetime_value", "product_performance"):
        # In-process, the IO manager reads the silver partitions; on Athena, inputs are ordering-only deps.
        assert not any(i.dagster_type.is_nothing for i in local[name].node_def.input_defs)
        assert athena[name].node_def.input_defs and all(
            i.dagster_type.is_nothing for i in athena[name].node_def.input_defs
        )


def test_aws_definitions_with_the_athena_engine_load_without_deprecation_and_validate(tmp_path):
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
        "assert dg.AssetKey(['catalog', 'glue', 'silver', 'orders_validated']) in graph.get(clv).parent_keys"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0 and "Warning" not in proc.stderr, proc.stderr
