"""The running figures customer_lifetime_value is summed from: ``gold/customer_order_days``.

One row per customer, currency and order date with revenue orders: how many, and their revenue. A night
recomputes only the order dates whose current order lines changed since the table was last brought up to
date, so it reads the day's changes, not every order line of the store's history.

Which dates changed is not taken from the run's restatement log: the table's last commit records the
snapshot of ``silver/orders_validated`` it reflects, and the orders table's own commits since that snapshot
name the date partitions they rewrote. So a failed run, a re-run of an old day, days replayed in any order
or orders restated by another run are all caught. When that snapshot is no longer known (expired after
a week, or the first run), the table is rebuilt from every order line.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from ecommerce_pipeline.storage.tables import TableStore
from ecommerce_pipeline.transforms import customer_lifetime_value as clv

TABLE = "gold/customer_order_days"
ORDERS_SNAPSHOT = "orders-snapshot-id"  # the snapshot property naming the orders snapshot the table reflects


def refresh(store: TableStore, orders_table: str) -> tuple[str, list[date]]:
    """Bring the table up to date with the orders' current snapshot; returns how ('rebuilt', 'updated' or
    'unchanged') and the order dates recomputed."""
    current = store.snapshot_rows(orders_table)
    if current is None:  # no order yet
        store.replace(TABLE, clv.DAYS_SCHEMA.empty_table(), partition_column="order_date")
        return "rebuilt", []
    snapshot_id = current[0]
    recorded = store.snapshot_property(TABLE, ORDERS_SNAPSHOT)
    if recorded is not None and int(recorded) == snapshot_id:
        return "unchanged", []
    changed = store.changed_partitions(orders_table, int(recorded)) if recorded is not None else None
    properties = {ORDERS_SNAPSHOT: str(snapshot_id)}
    if changed is None:
        lines = store.local_files(orders_table, snapshot_id=snapshot_id)
        if lines is None:
            lines = store.batches(orders_table, clv.HISTORY_COLUMNS, snapshot_id=snapshot_id)
        days = clv.order_days(lines)
        store.replace(TABLE, days, partition_column="order_date", properties=properties)
        return "rebuilt", sorted(set(days.column("order_date").to_pylist()))
    dates = sorted(changed)
    lines = store.read_dates(orders_table, "business_date", dates, clv.HISTORY_COLUMNS, snapshot_id=snapshot_id)
    store.restate(TABLE, "order_date", dates, clv.order_days(lines), properties=properties)
    return "updated", dates


def rows(store: TableStore) -> pa.Table | pa.RecordBatchReader | list[str]:
    """Every row of the table, for ``customer_lifetime_value.from_order_days``: its local files, or a stream."""
    files = store.local_files(TABLE)
    if files is not None:
        return files
    stream = store.batches(TABLE, clv.DAYS_SCHEMA.names)
    return stream if stream is not None else clv.DAYS_SCHEMA.empty_table()
