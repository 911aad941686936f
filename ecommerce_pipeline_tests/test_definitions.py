"""The whole pipeline through Dagster: one partition, a range in one run, re-runs, blocking checks."""

import subprocess
import sys
from datetime import date
from decimal import Decimal

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
from ecommerce_pipeline.storage.tables import local_table_store

from .conftest import DAY, STORE

QUARANTINE_TABLES = (
    "bronze_customers", "bronze_products", "bronze_orders", "bronze_order_items", "bronze_events",
    "silver_customers", "silver_orders", "silver_order_items", "field_issues",
)  # fmt: skip
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


def test_loading_definitions_freezes_what_it_made_and_leaves_the_collector_on():
    """The definitions are made with the cycle collector paused and then frozen (``loading.py``): the collector
    is on again afterwards, does not scan them, and is on again even when what is loaded raises."""
    code = (
        "import gc; import ecommerce_pipeline.definitions\n"
        "assert gc.isenabled() and gc.get_freeze_count() > 100_000, gc.get_freeze_count()\n"
        "from ecommerce_pipeline.loading import long_lived_objects\n"
        "try:\n"
        "    with long_lived_objects():\n"
        "        assert not gc.isenabled()\n"
        "        raise KeyError('a broken module')\n"
        "except KeyError:\n"
        "    assert gc.isenabled()\n"
        "else:\n"
        "    raise AssertionError('the error was swallowed')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


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
    expected = {
        (spec.asset_key.to_user_string(), spec.name) for a in lake_assets for spec in a.check_specs
    }
    assert set(checks) == expected and len(expected) > 10
    assert all(c.passed for c in checks.values()), [k for k, c in checks.items() if not c.passed]

    # Silver and gold are Iceberg tables the assets write themselves: read them from the table store.
    tables = local_table_store(project_env / "lake")
    sales = tables.read("gold/daily_sales_summary")
    # O1 130 + O5 105 (C1) + O3 60 (C2) + O4 20 (C3, unknown customer: kept with region unknown); O2 cancelled.
    assert pc.sum(sales.column("total_revenue")).as_py() == Decimal("315.00")
    funnel = tables.read("gold/conversion_funnel")
    assert funnel.filter(pc.equal(funnel.column("device_type"), "all")).column("sessions").to_pylist() == [2]
    assert result.asset_value(key("quarantine", "silver_orders")).num_rows == 0  # unknown ids are not quarantined

    bronze_meta = result.asset_materializations_for_node("bronze_orders")[0].metadata
    assert bronze_meta["dagster/row_count"].value == 6 and bronze_meta["landing_rows"].value == 6
    conservation = checks[("silver/orders_validated", "order_conservation")].metadata
    # O3 sent twice: two versions of the order, nothing removed
    assert conservation["stored_rows"].value == 6 and conservation["unaccounted_rows"].value == 0
    lines = checks[("silver/orders_validated", "line_conservation")].metadata
    assert (lines["bronze_rows"].value, lines["stored_rows"].value, lines["quarantined_rows"].value) == (7, 7, 0)


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
    assert (lake / "quarantine/bronze_customers/year=2025/month=01/day=01/part-0.parquet").exists()
    tables = local_table_store(lake)
    gold_files = tables.files("gold/daily_sales_summary")
    assert gold_files and all(f.endswith(".parquet") for f in gold_files)
    with duckdb.connect(str(lake / "catalog.duckdb"), read_only=True) as con:
        views = {
            tuple(r) for r in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        }
        iceberg = {
            ("silver", t) for t in ("customers_clean", "products_clean", "orders_validated", "events_clean",
                                    "order_versions", "order_line_versions", "dimension_changes", "restatements")
        } | {("gold", t) for t in ("daily_sales_summary", "customer_lifetime_value", "product_performance", "conversion_funnel")}  # fmt: skip
        parquet = {("bronze", e) for e in ("customers", "products", "orders", "order_items", "events")} | {
            ("quarantine", q) for q in QUARANTINE_TABLES
        }
        assert {v for v in views if v[0] != "analytics"} == iceberg | parquet  # one view per lake table
        assert {v[1] for v in views if v[0] == "analytics"} == set(query_names())  # and the query library
        assert con.execute("SELECT sum(total_revenue) FROM gold.daily_sales_summary").fetchone()[0] == Decimal("315.00")
        assert con.execute("SELECT count(*) FROM silver.orders_validated WHERE business_date = DATE '2025-01-01'").fetchone()[0] == 7


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
    assert len(first["silver.orders_validated"]) == 7


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
        clv = con.execute(
            "SELECT business_date, customer_id, total_orders, total_spent FROM gold.customer_lifetime_value ORDER BY 2"
        ).fetchall()
        # One row per customer as of the last day: O9 (90.00) landed on day 3 and joins C1's O1 (130) and O5 (105);
        # O4's customer C404 is unknown, its order still counts. C3 (invalid e-mail) has no order.
        assert clv == [
            (date(2025, 1, 3), "C1", 3, Decimal("325.00")),
            (date(2025, 1, 3), "C2", 1, Decimal("60.00")),
            (date(2025, 1, 3), "C404", 1, Decimal("20.00")),
        ]
        # Dimensions are stored once per change, not once per day: day 2 had no customer file. C3 is kept (its
        # invalid e-mail is only a field issue).
        assert con.execute("SELECT count(*), count(DISTINCT landing_date) FROM silver.customers_clean").fetchone() == (3, 1)
        revenue = con.execute(
            "SELECT business_date, sum(total_revenue) FROM gold.daily_sales_summary GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert revenue == [(DAY, Decimal("315.00")), (date(2025, 1, 3), Decimal("90.00"))]


def test_a_failing_blocking_silver_check_keeps_gold_from_running(project_env, store_landing, monkeypatch):
    import ecommerce_pipeline.defs.silver.assets as silver

    real = silver.clean_customers

    def duplicating(*args, **kwargs):
        result = real(*args, **kwargs)
        result.history = pa.concat_tables([result.history, result.history])
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
    graph = defs.resolve_asset_graph()
    for asset_key, metadata in by_key.items():
        if asset_key.path[0] == "catalog":
            continue
        assert {"dagster/row_count", "dagster/column_schema", "preview"} <= set(metadata), asset_key
        if "iceberg" not in graph.get(asset_key).kinds:  # Parquet outputs go through the IO manager
            assert metadata["bytes_written"].value > 0, asset_key
    orders = by_key[key("silver", "orders_validated")]
    assert orders["quarantined_orders"].value == 0 and orders["quarantined_lines"].value == 0
    assert orders["revenue_of_restated_dates"].value == 315.0
    assert (orders["unknown_customers"].value, orders["unknown_products"].value) == (1, 1)  # O4's line; O5's P9 line
    assert orders["restated"].value == ["2025-01-01"]
    # C3's invalid e-mail costs the value, not the customer: no quarantined record, one field issue.
    assert by_key[key("silver", "customers_clean")]["quarantined_rows"].value == 0
    issues = by_key[key("quarantine", "field_issues")]
    assert issues["dagster/row_count"].value == 1 and issues["rules"].value == {"invalid_email": 1}
    assert by_key[key("bronze", "orders")]["quarantined_rows"].value == 0


def test_the_local_path_loads_no_aws_library(project_env):
    """boto3 and awswrangler are imported when an AWS path first needs them: on a laptop they would add about
    0.4 s to every process start (the CLI, the UI's code server, a run)."""
    code = (
        "import sys, ecommerce_pipeline.cli, ecommerce_pipeline.definitions as d; "
        "d.defs.resolve_job_def('medallion_daily'); "
        "loaded = [m for m in ('awswrangler', 'boto3', 'botocore') if m in sys.modules]; assert not loaded, loaded"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_imports_flow_one_way_from_defs_to_definitions_to_the_runner():
    """Nothing the definitions load reaches back for the definitions, the runner or the command line, and
    nothing the pipeline runs imports the demo tooling (generator, bench, importers)."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "ecommerce_pipeline"
    above = ("ecommerce_pipeline.definitions", "ecommerce_pipeline.runner", "ecommerce_pipeline.cli")
    tooling = ("ecommerce_pipeline.tooling",)
    loaded = [package / "definitions.py", *package.glob("defs/**/*.py"), *package.glob("transforms/**/*.py"),
              *package.glob("storage/**/*.py"), *package.glob("quality/**/*.py"), *package.glob("ingest/**/*.py")]  # fmt: skip
    runtime = [*loaded, package / "contract.py", package / "settings.py", *package.glob("catalog/**/*.py"),
               *package.glob("runner/**/*.py")]  # fmt: skip
    reaching_back = []
    for path in runtime:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            forbidden = above[1:] if path.name == "definitions.py" else above if path in loaded else ()
            reaching_back += [f"{path.relative_to(package)}: {n}" for n in names if n.startswith(forbidden + tooling)]
    assert len(loaded) > 40 and len(runtime) > len(loaded) + 5 and reaching_back == []
