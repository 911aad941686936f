"""The whole pipeline through Dagster: one partition, a range in one run, re-runs, blocking checks."""

import subprocess
import sys
from datetime import date

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ecommerce_pipeline.catalog.query_library import query_names
from ecommerce_pipeline.definitions import defs, lake_assets
from ecommerce_pipeline.defs.catalog.assets import duckdb_catalog
from ecommerce_pipeline.defs.resources import resources_for
from ecommerce_pipeline.settings import load_settings
from ecommerce_pipeline.storage.io_manager import InMemoryLakeIOManager

from .conftest import DAY, STORE

RANGE_TAGS = {"dagster/asset_partition_range_start": "2025-01-01", "dagster/asset_partition_range_end": "2025-01-03"}


def key(*path):
    return dg.AssetKey(list(path))


def check_results(result):
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def test_loading_definitions_emits_no_deprecation_warning():
    code = "import ecommerce_pipeline.definitions as d; assert d.defs.resolve_asset_graph().get_all_asset_keys()"
    proc = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr


def test_definitions_have_the_four_layer_groups_and_one_job():
    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {"bronze", "silver", "gold", "catalog"}
    assert defs.resolve_job_def("medallion_daily").partitions_def is not None


def test_one_partition_end_to_end_with_in_memory_io_manager(project_env, store_landing):
    resources = {**resources_for(load_settings()), "io_manager": InMemoryLakeIOManager()}
    result = dg.materialize(lake_assets, partition_key=DAY.isoformat(), resources=resources)
    assert result.success
    checks = check_results(result)
    assert len(checks) == 23 and all(c.passed for c in checks.values()), [k for k, c in checks.items() if not c.passed]

    sales = result.asset_value(key("gold", "daily_sales_summary"))
    assert pc.sum(sales.column("total_revenue")).as_py() == 190.0
    funnel = result.asset_value(key("gold", "conversion_funnel"))
    assert funnel.filter(pc.equal(funnel.column("device_type"), "all")).column("sessions").to_pylist() == [2]
    quarantined = result.asset_value(key("quarantine", "silver_orders"))
    assert sorted(quarantined.column("rule").to_pylist()) == ["order_has_invalid_line", "unknown_customer"]

    bronze_meta = result.asset_materializations_for_node("bronze_orders")[0].metadata
    assert bronze_meta["dagster/row_count"].value == 6 and bronze_meta["landing_rows"].value == 6
    conservation = checks[("silver/orders_validated", "order_conservation")].metadata
    assert conservation["duplicates_removed"].value == 1 and conservation["unaccounted_rows"].value == 0


def materialize_local(partition_key=None, tags=None):
    return dg.materialize(
        [*lake_assets, duckdb_catalog],
        partition_key=partition_key,
        tags=tags,
        resources=resources_for(load_settings()),
    )


def test_local_parquet_lake_and_duckdb_catalog(project_env, store_landing):
    assert materialize_local(DAY.isoformat()).success
    lake = project_env / "lake"
    assert (lake / "gold/daily_sales_summary/year=2025/month=01/day=01/part-0.parquet").exists()
    assert (lake / "quarantine/bronze_customers/year=2025/month=01/day=01/part-0.parquet").exists()
    with duckdb.connect(str(lake / "catalog.duckdb"), read_only=True) as con:
        views = {
            tuple(r) for r in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        }
        assert ("gold", "customer_lifetime_value") in views and ("quarantine", "silver_orders") in views
        assert len([v for v in views if v[0] != "analytics"]) == 22  # one view per lake table
        assert {v[1] for v in views if v[0] == "analytics"} == set(query_names())  # and the query library
        assert con.execute("SELECT sum(total_revenue) FROM gold.daily_sales_summary").fetchone()[0] == 190.0
        assert (
            con.execute("SELECT count(*) FROM silver.orders_validated WHERE year = 2025 AND day = 1").fetchone()[0] == 4
        )


def snapshot(project_env):
    with duckdb.connect(str(project_env / "lake" / "catalog.duckdb"), read_only=True) as con:
        return {
            t: con.execute(f"SELECT * EXCLUDE (_ingested_at) FROM {t} ORDER BY ALL").fetchall()
            if t.startswith("bronze.")
            else con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in (
                "bronze.orders",
                "silver.orders_validated",
                "gold.daily_sales_summary",
                "gold.customer_lifetime_value",
            )
        }


def test_rerunning_a_partition_gives_the_same_rows(project_env, store_landing):
    assert materialize_local(DAY.isoformat()).success
    first = snapshot(project_env)
    assert materialize_local(DAY.isoformat()).success
    assert snapshot(project_env) == first
    assert len(first["silver.orders_validated"]) == 4


def test_a_range_materializes_in_one_run_and_history_carries_over(project_env, write_landing):
    for entity, rows in STORE.items():
        write_landing(entity, rows)
    day3 = date(2025, 1, 3)
    write_landing("orders", [{**STORE["orders"][0], "order_id": "O9", "order_ts": "2025-01-03T09:00:00Z"}], day3)
    write_landing("order_items", [{**STORE["order_items"][0], "order_id": "O9"}], day3)
    result = materialize_local(tags=RANGE_TAGS)
    assert result.success
    runs = {
        m.partition
        for m in result.get_asset_materialization_events()
        if m.asset_key == key("gold", "customer_lifetime_value")
    }
    assert runs == {"2025-01-01", "2025-01-02", "2025-01-03"}
    with duckdb.connect(str(project_env / "lake" / "catalog.duckdb"), read_only=True) as con:
        c1 = con.execute(
            "SELECT business_date, total_orders, total_spent FROM gold.customer_lifetime_value "
            "WHERE customer_id = 'C1' ORDER BY 1"
        ).fetchall()
        # Day 2 has no files: C1 keeps day 1's figures; O9 (90.0) lands on day 3 and the snapshot of C1 still exists.
        assert [(r[1], r[2]) for r in c1] == [(1, 130.0), (1, 130.0), (2, 220.0)]
        assert (
            con.execute(
                "SELECT count(*) FROM silver.customers_clean WHERE business_date = DATE '2025-01-02'"
            ).fetchone()[0]
            == 3  # C3's invalid e-mail costs the e-mail, not the customer
        )


def test_a_failing_blocking_silver_check_keeps_gold_from_running(project_env, store_landing, monkeypatch):
    import ecommerce_pipeline.defs.silver.assets as silver

    real = silver.clean_customers

    def duplicating(*args, **kwargs):
        result = real(*args, **kwargs)
        result.table = pa.concat_tables([result.table, result.table])
        return result

    monkeypatch.setattr(silver, "clean_customers", duplicating)
    resources = {**resources_for(load_settings()), "io_manager": InMemoryLakeIOManager()}
    result = dg.materialize(lake_assets, partition_key=DAY.isoformat(), resources=resources, raise_on_error=False)
    schema = check_results(result)[("silver/customers_clean", "schema")]
    assert not schema.passed and schema.metadata["failing_rows"].value == 6
    assert "failing_rows_sample" in schema.metadata
    materialized = {m.asset_key for m in result.get_asset_materialization_events()}
    assert key("silver", "customers_clean") in materialized
    assert key("silver", "orders_validated") not in materialized
    assert not any(k.path[0] == "gold" and k.path[1] != "conversion_funnel" for k in materialized)


@pytest.mark.parametrize(
    "command", [["dagster", "definitions", "validate", "-m", "ecommerce_pipeline.definitions"], ["dg", "check", "defs"]]
)
def test_dagster_tooling_validates_the_definitions(command, project_env):
    bindir = __import__("pathlib").Path(sys.executable).parent
    proc = subprocess.run([str(bindir / command[0]), *command[1:]], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_materialization_carries_what_the_ui_shows(project_env, store_landing):
    result = materialize_local(DAY.isoformat())
    by_key = {m.asset_key: m.metadata for m in result.get_asset_materialization_events() for m in [m.materialization]}
    for asset_key, metadata in by_key.items():
        if asset_key.path[0] == "catalog":
            continue
        assert {"dagster/row_count", "dagster/column_schema", "preview", "bytes_written"} <= set(metadata), asset_key
        assert metadata["bytes_written"].value > 0
    orders = by_key[key("silver", "orders_validated")]
    assert orders["quarantined_orders"].value == 2 and orders["quarantined_lines"].value == 3
    assert orders["revenue"].value == 190.0
    assert by_key[key("silver", "customers_clean")]["quarantined_rows"].value == 0
    assert by_key[key("bronze", "orders")]["quarantined_rows"].value == 0
