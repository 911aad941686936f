"""Every partition of a single-run backfill describes its own day, in the instance the UI reads."""

import dagster as dg
import duckdb
import pytest

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.definitions import defs


@pytest.mark.slow
def test_each_day_of_a_backfill_shows_its_own_revenue_and_rows(project_env):
    assert (
        main(["generate", "--start", "2025-01-01", "--end", "2025-01-04", "--lines-per-day", "200", "--seed", "5"]) == 0
    )
    assert main(["run", "--start", "2025-01-01", "--end", "2025-01-04"]) == 0
    with duckdb.connect(str(project_env / "lake" / "catalog.duckdb"), read_only=True) as con:
        truth = {
            str(day): (float(revenue), rows)
            for day, revenue, rows in con.execute(
                "SELECT business_date, sum(total_revenue), count(*) FROM gold.daily_sales_summary "
                "WHERE business_date BETWEEN DATE '2025-01-01' AND DATE '2025-01-04' GROUP BY 1"
            ).fetchall()
        }
        bronze = dict(
            con.execute("SELECT CAST(business_date AS VARCHAR), count(*) FROM bronze.orders GROUP BY 1").fetchall()
        )
        # Every table of a day's data, by the date its partitions describe (dimensions: the landing day that
        # added the versions; facts and quarantines: their business date).
        graph = defs.resolve_asset_graph()
        catalog = {
            (schema, name)
            for schema, name in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        }
        per_table = {}
        for key in graph.materializable_asset_keys:
            if len(key.path) != 2 or tuple(key.path) not in catalog or key.path[1] == "customer_lifetime_value":
                continue
            column = "landing_date" if key.path[1] in ("customers_clean", "products_clean") else "business_date"
            per_table[key] = dict.fromkeys(truth, 0) | {
                str(day): n
                for day, n in con.execute(
                    f'SELECT {column}, count(*) FROM "{key.path[0]}"."{key.path[1]}" GROUP BY 1'
                ).fetchall()
                if str(day) in truth
            }
    assert len(per_table) >= 17, sorted(k.to_user_string() for k in per_table)
    shown = {}
    with dg.DagsterInstance.get() as instance:
        for key, expected in per_table.items():
            records = instance.fetch_materializations(key, limit=100).records
            rows = {r.asset_materialization.partition: r.asset_materialization.metadata for r in records}
            assert {day: rows[day]["dagster/row_count"].value for day in truth} == expected, key
        for key, path in (("sales", ["gold", "daily_sales_summary"]), ("bronze", ["bronze", "orders"])):
            records = instance.fetch_materializations(dg.AssetKey(path), limit=100).records
            for record in records:
                m = record.asset_materialization
                shown.setdefault(key, {})[m.partition] = m.metadata
    sales = shown["sales"]
    assert set(sales) == set(truth) and len(truth) == 4
    for day, (revenue, rows) in truth.items():
        assert sales[day]["total_revenue"].value == pytest.approx(revenue, abs=0.005)
        assert sales[day]["dagster/row_count"].value == rows
    assert len({round(sales[d]["total_revenue"].value, 2) for d in truth}) == 4, "each day its own revenue"
    assert {d: shown["bronze"][d]["dagster/row_count"].value for d in bronze} == bronze
    # Each day has its own evaluation of every check of the day's data (all but the landing folder's unused
    # paths, which belong to no day): bronze and silver conservation count that day's rows, gold's schema
    # check that day's rows.
    with dg.DagsterInstance.get() as instance:

        def by_partition(key: dg.AssetCheckKey):
            history = instance.event_log_storage.get_asset_check_execution_history(key, limit=100)
            return {
                r.event.dagster_event.event_specific_data.partition: r.event.dagster_event.event_specific_data
                for r in history
                if r.event is not None and getattr(r.event.dagster_event.event_specific_data, "partition", None)
            }

        checks = {
            key: by_partition(key)
            for key in defs.resolve_asset_graph().asset_check_keys
            if key.name != "landing_unused_files"
        }
    assert len(checks) == 19
    for key, per_day in checks.items():
        assert set(per_day) == set(truth), key
        assert all(evaluation.passed for evaluation in per_day.values()), key

    def check(path: str, name: str):
        return checks[dg.AssetCheckKey(dg.AssetKey(path.split("/")), name)]

    for day, (_, rows) in truth.items():
        assert check("gold/daily_sales_summary", "schema")[day].metadata["rows_checked"].value == rows
        for path, name in (("bronze/orders", "row_conservation"), ("silver/orders_validated", "order_conservation")):
            assert check(path, name)[day].metadata["bronze_rows"].value == bronze[day], (path, day)
        silver = check("silver/orders_validated", "order_conservation")[day].metadata
        assert silver["stored_rows"].value + silver["quarantined_rows"].value == bronze[day]
