"""A 90-day backfill of demo data runs as one Dagster run, from the command line."""

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
        # (a day of demo data this small may have no revenue order, so daily_sales_summary is not counted here)
        for table in ("gold.customer_lifetime_value", "gold.conversion_funnel", "silver.orders_validated"):
            assert con.execute(f"SELECT count(DISTINCT business_date) FROM {table}").fetchone()[0] == 90
        # Lifetime value carries history across the whole range: the last day knows every earlier order.
        last_day_orders = con.execute(
            "SELECT sum(total_orders) FROM gold.customer_lifetime_value WHERE business_date = DATE '2025-03-31'"
        ).fetchone()[0]
        revenue_orders = con.execute(
            """SELECT count(*) FROM (
                   SELECT order_id, bool_and(is_revenue) AS is_revenue FROM silver.orders_validated
                   GROUP BY order_id, business_date
                   QUALIFY business_date = max(business_date) OVER (PARTITION BY order_id)
               ) WHERE is_revenue"""
        ).fetchone()[0]
        assert last_day_orders == revenue_orders > 100
