"""Late data: when an earlier day is re-materialized, the as-of tables of later days are refreshed.

Most tables of a day depend only on that day, so the run for the late day (started by the arrival sensor)
is enough. The as-of tables read the whole history through ``history_window``: customer and product
snapshots and customer lifetime value. A later day of one of them is stale when its last materialization
is older than a new materialization of an earlier day of what it reads. This sensor finds those days and
requests one single-run backfill of the stale tables and everything downstream of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from ecommerce_pipeline.defs.automation import OPT_IN_SENSOR
from ecommerce_pipeline.defs.jobs import RANGE_END_TAG, RANGE_START_TAG
from ecommerce_pipeline.defs.partitions import history_window


@dataclass(frozen=True)
class Refresh:
    stale: dict[dg.AssetKey, set[str]]  # as-of table -> later partitions older than the data they read
    last_storage_id: int  # newest upstream materialization taken into account


def history_readers(asset_graph) -> dict[dg.AssetKey, set[dg.AssetKey]]:
    """Upstream table -> the tables that read its whole history."""
    readers: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for key in asset_graph.get_all_asset_keys():
        for parent in asset_graph.get(key).parent_keys:
            if asset_graph.get_partition_mapping(key, parent) == history_window:
                readers.setdefault(parent, set()).add(key)
    return readers


def find_stale(instance: dg.DagsterInstance, readers: dict[dg.AssetKey, set[dg.AssetKey]], after: int) -> Refresh:
    records = sorted(
        (
            record
            for upstream in readers
            for record in instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=upstream, after_storage_id=after), limit=10_000, ascending=True
            ).records
        ),
        key=lambda r: r.storage_id,
    )
    stale: dict[dg.AssetKey, set[str]] = {}
    latest: dict[dg.AssetKey, dict[str, int]] = {}
    last = after
    for record in records:
        run = instance.get_run_by_id(record.run_id)
        if run is not None and not run.is_finished:
            # Wait for the run that rewrote the late day: it may still be rewriting the rest of that day.
            break
        last = record.storage_id
        for consumer in readers[record.asset_key]:
            if consumer not in latest:
                latest[consumer] = dict(
                    instance.get_latest_storage_id_by_partition(consumer, dg.DagsterEventType.ASSET_MATERIALIZATION)
                )
            later = {p for p, sid in latest[consumer].items() if p > record.partition_key and sid < record.storage_id}
            if later:
                stale.setdefault(consumer, set()).update(later)
    return Refresh(stale, last)


def refresh_request(refresh: Refresh, asset_graph) -> dg.RunRequest | None:
    if not refresh.stale:
        return None
    days = sorted(set().union(*refresh.stale.values()))
    selection = dg.AssetSelection.assets(*refresh.stale).downstream().required_multi_asset_neighbors()
    return dg.RunRequest(
        run_key=f"history-refresh-{refresh.last_storage_id}",
        asset_selection=sorted(selection.resolve(asset_graph), key=lambda k: k.to_user_string()),
        tags={RANGE_START_TAG: days[0], RANGE_END_TAG: days[-1], "ecommerce/trigger": "late_data"},
    )


@dg.sensor(
    name="late_data_history_refresh",
    description=(
        "After an earlier day is re-materialized (late files), re-runs the later days of the tables that read "
        "the whole history (customer and product snapshots, customer lifetime value) and what depends on them, "
        "as one single-run backfill."
    ),
    **OPT_IN_SENSOR,
)
def late_data_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    asset_graph = context.repository_def.asset_graph
    refresh = find_stale(context.instance, history_readers(asset_graph), int(context.cursor or 0))
    request = refresh_request(refresh, asset_graph)
    if request is not None:
        context.log.info(
            f"refreshing {request.tags[RANGE_START_TAG]}..{request.tags[RANGE_END_TAG]} of "
            f"{', '.join(k.to_user_string() for k in refresh.stale)} after late data"
        )
    return dg.SensorResult(run_requests=[request] if request else [], cursor=str(refresh.last_storage_id))
