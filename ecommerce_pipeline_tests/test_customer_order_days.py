"""customer_lifetime_value kept up to date from per-customer, per-date running figures must give exactly the
rows of the full computation over every order line, whatever happened between nights: days replayed out of
order, an old day re-run, a run that stopped after silver, a lost record of what the figures reflect.

Every night here is a real Dagster run over generated landing files (status changes, refunds, customers who
move), real Iceberg tables and the DuckDB catalog; the reference is the whole SQL over every current order
line, read back from silver."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from ecommerce_pipeline.settings import load_settings

DAYS = [date(2025, 1, d) for d in range(1, 7)]


@pytest.fixture
def generated(project_env: Path) -> Path:
    from ecommerce_pipeline.cli import main

    args = ["generate", "--start", "2025-01-01", "--end", "2025-01-06", "--lines-per-day", "300", "--seed", "5"]
    assert main(args) == 0
    return project_env


def night(day: date, gold: bool = True) -> dict:
    """One run of ``day`` (every asset, or bronze and silver only); returns the order days' refresh metadata."""
    from ecommerce_pipeline.definitions import defs
    from ecommerce_pipeline.defs.resources import resources_for

    assets = [a for a in defs.assets if gold or not any(k.path[0] in ("gold", "catalog") for k in a.keys)]
    result = dg.materialize(assets, partition_key=day.isoformat(), resources=resources_for())
    assert result.success
    if not gold:
        return {}
    (clv,) = result.asset_materializations_for_node("gold__customer_lifetime_value")
    return clv.metadata["order_days"].value


def stored_clv() -> list[dict]:
    from ecommerce_pipeline.catalog.duckdb_catalog import DuckDBCatalog
    from ecommerce_pipeline.storage.lake import LocalLake

    settings = load_settings()
    catalog = DuckDBCatalog(settings.catalog_path, LocalLake(settings.lake_dir))
    return catalog.query("SELECT * FROM gold.customer_lifetime_value ORDER BY customer_id, currency").to_pylist()


def recomputed_clv() -> list[dict]:
    """The reference: the whole SQL over every current order line, as of the day the stored table says."""
    from ecommerce_pipeline.storage.tables import local_table_store
    from ecommerce_pipeline.transforms import customer_lifetime_value as clv

    store = local_table_store(load_settings().lake_dir)
    lines = store.read("silver/orders_validated", clv.HISTORY_COLUMNS)
    as_of = store.read("gold/customer_lifetime_value", ["business_date"]).column("business_date")[0].as_py()
    return clv.customer_lifetime_value(lines, as_of).to_pylist()


def assert_matches_full_computation() -> None:
    stored = stored_clv()
    assert stored, "the store has customers with revenue"
    assert stored == recomputed_clv()


@pytest.mark.slow
def test_every_night_out_of_order_and_rerun_matches_the_full_computation(generated):
    refreshes = []
    # Out of order, then an old day again (its orders were re-sent on the next day), then the rest.
    for day in (DAYS[2], DAYS[0], DAYS[1], DAYS[0], DAYS[4], DAYS[3]):
        refreshes.append(night(day))
        assert_matches_full_computation()
    assert refreshes[0]["refresh"] == "rebuilt"  # the first night has nothing to start from
    assert [r["refresh"] for r in refreshes[1:]] == ["updated"] * 5, "later nights recompute only changed dates"
    assert all(r["dates_recomputed"] < 6 for r in refreshes[1:])


@pytest.mark.slow
def test_a_night_that_stopped_after_silver_is_caught_up_by_the_next(generated):
    """The orders of a day whose gold never ran (a failed run) still reach the figures: the dates to
    recompute come from the orders table's own commits, not from the last run's restatement log."""
    night(DAYS[0])
    night(DAYS[1], gold=False)  # silver restates 2025-01-01 (re-sent orders) and adds 2025-01-02
    refresh = night(DAYS[2])
    assert refresh["refresh"] == "updated"
    assert refresh["dates_recomputed"] >= 2
    assert_matches_full_computation()


@pytest.mark.slow
def test_figures_whose_orders_snapshot_is_unknown_are_rebuilt(generated):
    """When the snapshot the figures reflect is no longer known (expired after a week), they are rebuilt."""
    from ecommerce_pipeline.defs.gold import customer_order_days as order_days
    from ecommerce_pipeline.storage.tables import local_table_store

    night(DAYS[0])
    night(DAYS[1])
    store = local_table_store(load_settings().lake_dir)
    # Figures that say they reflect a snapshot the orders table never had (and hold nothing).
    from ecommerce_pipeline.transforms.customer_lifetime_value import DAYS_SCHEMA

    store.replace(order_days.TABLE, DAYS_SCHEMA.empty_table(), properties={order_days.ORDERS_SNAPSHOT: "1"})
    assert night(DAYS[2])["refresh"] == "rebuilt"
    assert_matches_full_computation()
