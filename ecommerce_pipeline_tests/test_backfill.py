"""A 90-day backfill of demo data runs as one Dagster run, from the command line."""

from datetime import date

import dagster as dg
import duckdb
import pytest

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.definitions import defs


@pytest.mark.slow
def test_ninety_days_of_demo_data_backfill_in_a_single_run(project_env, capsys):
    assert (
        main(["generate", "--start", "2025-01-01", "--end", "2025-03-31", "--lines-per-day", "10", "--seed", "9"]) == 0
    )
    assert main(["run", "--start", "2025-01-01", "--end", "2025-03-31"]) == 0
    assert "check failed" not in capsys.readouterr().out
    graph = defs.resolve_asset_graph()
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert run.is_success
        assert run.tags["dagster/asset_partition_range_start"] == "2025-01-01"
        assert run.tags["dagster/asset_partition_range_end"] == "2025-03-31"
        for key in graph.get_all_asset_keys():
            assert len(instance.get_materialized_partitions(key)) == 90, key.to_user_string()
    with duckdb.connect(str(project_env / "lake" / "catalog.duckdb"), read_only=True) as con:
        # Facts by the date they happened: every landing day had events and orders on its own date (UTC store).
        # (a day of demo data this small may have no revenue order, so daily_sales_summary is not counted here)
        for table in ("gold.conversion_funnel", "silver.orders_validated", "silver.events_clean"):
            assert con.execute(f"SELECT count(DISTINCT business_date) FROM {table}").fetchone()[0] == 90, table
        # Lifetime value is one row per customer and currency, as of the last landing day, over every order.
        assert con.execute("SELECT DISTINCT business_date FROM gold.customer_lifetime_value").fetchall() == [
            (date(2025, 3, 31),)
        ]
        clv_orders = con.execute("SELECT sum(total_orders) FROM gold.customer_lifetime_value").fetchone()[0]
        current_orders = con.execute(
            "SELECT count(DISTINCT order_id) FROM silver.orders_validated WHERE is_revenue"
        ).fetchone()[0]
        # Orders re-sent with a new status are versions, not new orders: one current state each.
        versions, orders = con.execute(
            "SELECT count(*), count(DISTINCT order_id) FROM silver.order_versions"
        ).fetchone()
        assert versions > orders
        assert con.execute(
            "SELECT count(*) FROM (SELECT order_id FROM silver.order_versions WHERE is_current GROUP BY 1 HAVING count(*) > 1)"
        ).fetchone()[0] == 0
    assert clv_orders == current_orders > 100
