"""Late data end to end: a file for an earlier day re-runs that day, then the later days of the as-of tables."""

from datetime import date

import dagster as dg
import duckdb

from ecommerce_pipeline.definitions import defs
from ecommerce_pipeline.defs.automation.arrival import landing_arrival_sensor
from ecommerce_pipeline.defs.automation.late_data import late_data_sensor

from .conftest import STORE

DAY3 = date(2025, 1, 3)
RANGE = {"dagster/asset_partition_range_start": "2025-01-01", "dagster/asset_partition_range_end": "2025-01-03"}


def tick(sensor, instance, cursor=None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, repository_def=defs.get_repository_def(), sensor_name=sensor.name
    )
    return sensor.evaluate_tick(context)


def clv_of(project_env, customer):
    with duckdb.connect(str(project_env / "lake" / "catalog.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT strftime(business_date, '%Y-%m-%d'), total_orders, total_spent FROM gold.customer_lifetime_value "
            f"WHERE customer_id = '{customer}' ORDER BY 1"
        ).fetchall()


def test_a_late_file_refreshes_its_day_and_the_lifetime_value_of_later_days(project_env, write_landing):
    for entity, rows in STORE.items():
        write_landing(entity, rows)
    write_landing("orders", [{**STORE["orders"][0], "order_id": "O9", "order_ts": "2025-01-03T09:00:00Z"}], DAY3)
    write_landing("order_items", [{**STORE["order_items"][0], "order_id": "O9"}], DAY3)
    job = defs.resolve_job_def("medallion_daily")
    with dg.instance_for_test() as instance:
        arrivals = tick(landing_arrival_sensor, instance)
        assert job.execute_in_process(instance=instance, tags=RANGE).success
        late = tick(late_data_sensor, instance)
        assert late.run_requests == []  # one range run: every as-of day was built after what it reads
        assert clv_of(project_env, "C2") == [("2025-01-01", 1, 60.0), ("2025-01-02", 1, 60.0), ("2025-01-03", 1, 60.0)]

        # Two days later, a forgotten order of C2 arrives for 2025-01-01.
        order = {**STORE["orders"][0], "order_id": "O10", "customer_id": "C2", "order_ts": "2025-01-01T20:00:00Z"}
        write_landing("orders", [order], name="orders-late.csv")
        write_landing("order_items", [{**STORE["order_items"][2], "order_id": "O10"}], name="order_items-late.csv")
        (day_run,) = tick(landing_arrival_sensor, instance, arrivals.cursor).run_requests
        assert day_run.partition_key == "2025-01-01"
        assert job.execute_in_process(instance=instance, partition_key=day_run.partition_key).success
        # The late day itself is right at once; later days of the lifetime value are now stale.
        assert clv_of(project_env, "C2")[0] == ("2025-01-01", 2, 160.0)
        assert clv_of(project_env, "C2")[2] == ("2025-01-03", 1, 60.0)

        (refresh,) = (late := tick(late_data_sensor, instance, late.cursor)).run_requests
        assert refresh.tags["dagster/asset_partition_range_start"] == "2025-01-02"
        assert refresh.tags["dagster/asset_partition_range_end"] == "2025-01-03"
        selected = {k.to_user_string() for k in refresh.asset_selection}
        assert {"gold/customer_lifetime_value", "silver/customers_clean", "catalog/duckdb"} <= selected
        assert not any(k.startswith("bronze/") for k in selected)  # bronze of later days is not affected
        assert job.execute_in_process(
            instance=instance, tags=refresh.tags, asset_selection=refresh.asset_selection
        ).success
        assert clv_of(project_env, "C2") == [
            ("2025-01-01", 2, 160.0),
            ("2025-01-02", 2, 160.0),
            ("2025-01-03", 2, 160.0),
        ]
        # The refresh itself makes nothing stale: the sensor settles.
        assert tick(late_data_sensor, instance, late.cursor).run_requests == []
