"""The running figures customer_lifetime_value is scored from: ``gold/customer_order_days`` and
``gold/customer_totals``.

``customer_order_days``: one row per customer, currency and order date with revenue orders: how many, and
their revenue. A night recomputes only the order dates whose current order lines changed since the table was
last brought up to date, so it reads the day's changes, not every order line of the store's history.

Which dates changed is not taken from the run's restatement log: the table's last commit records the
snapshot of ``silver/orders_validated`` it reflects, and the orders table's own commits since that snapshot
name the date partitions they rewrote. So a failed run, a re-run of an old day, days replayed in any order
or orders restated by another run are all caught. When that snapshot is no longer known (expired after
a week, or the first run), the table is rebuilt from every order line.

``customer_totals``: one row per customer and currency, their lifetime orders, revenue and first and last
order dates, moved each night by the difference between the changed dates' order days before and after.
Its commit records the order days' snapshot it reflects; when that is not the one the night started from,
it is summed again from every order day.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from ecommerce_pipeline.storage.tables import TableStore
from ecommerce_pipeline.transforms import customer_lifetime_value as clv

TABLE = "gold/customer_order_days"
TOTALS = "gold/customer_totals"
ORDERS_SNAPSHOT = "orders-snapshot-id"  # the snapshot property naming the orders snapshot the table reflects
DAYS_SNAPSHOT = "order-days-snapshot-id"  # the one naming the order days' snapshot the totals reflect


def refresh(store: TableStore, orders_table: str) -> tuple[str, list[date]]:
    """Bring both tables up to date with the orders' current snapshot; returns how ('rebuilt', 'updated' or
    'unchanged') and the order dates recomputed."""
    days_before = _snapshot_id(store, TABLE)
    how, dates, old, new = _refresh_days(store, orders_table)
    days_after = _snapshot_id(store, TABLE)
    recorded = store.snapshot_property(TOTALS, DAYS_SNAPSHOT)
    if recorded is not None and int(recorded) == days_after:
        return how, dates
    properties = {DAYS_SNAPSHOT: str(days_after)}
    if how == "updated" and recorded is not None and int(recorded) == days_before:
        kept, again = clv.updated_totals(store.read(TOTALS), old, new, dates)
        if again:  # customers whose first or last order date left: summed again from their order days
            kept = pa.concat_tables(
                [kept, clv.totals(store.read_keys(TABLE, clv.DAYS_SCHEMA.names, "customer_id", again))]
            )
        store.replace(TOTALS, kept, properties=properties)
    else:
        store.replace(TOTALS, clv.totals(rows(store)), properties=properties)
    return how, dates


def _snapshot_id(store: TableStore, table: str) -> int | None:
    current = store.snapshot_rows(table)
    return current[0] if current is not None else None


def _refresh_days(store: TableStore, orders_table: str) -> tuple[str, list[date], pa.Table | None, pa.Table | None]:
    """Bring ``customer_order_days`` up to date; for an update, also the changed dates' rows before and after."""
    current = store.snapshot_rows(orders_table)
    if current is None:  # no order yet
        store.replace(TABLE, clv.DAYS_SCHEMA.empty_table(), partition_column="order_date")
        return "rebuilt", [], None, None
    snapshot_id = current[0]
    recorded = store.snapshot_property(TABLE, ORDERS_SNAPSHOT)
    if recorded is not None and int(recorded) == snapshot_id:
        return "unchanged", [], None, None
    changed = store.changed_partitions(orders_table, int(recorded)) if recorded is not None else None
    properties = {ORDERS_SNAPSHOT: str(snapshot_id)}
    if changed is None:
        lines = store.local_files(orders_table, snapshot_id=snapshot_id)
        if lines is None:
            lines = store.batches(orders_table, clv.HISTORY_COLUMNS, snapshot_id=snapshot_id)
        days = clv.order_days(lines)
        store.replace(TABLE, days, partition_column="order_date", properties=properties)
        return "rebuilt", sorted(set(days.column("order_date").to_pylist())), None, None
    dates = sorted(changed)
    old = store.read_dates(TABLE, "order_date", dates)
    lines = store.read_dates(orders_table, "business_date", dates, clv.HISTORY_COLUMNS, snapshot_id=snapshot_id)
    new = clv.order_days(lines)
    store.restate(TABLE, "order_date", dates, new, properties=properties)
    return "updated", dates, old, new


def rows(store: TableStore) -> pa.Table | pa.RecordBatchReader | list[str]:
    """Every row of ``customer_order_days``: its local files, or a stream."""
    files = store.local_files(TABLE)
    if files is not None:
        return files
    stream = store.batches(TABLE, clv.DAYS_SCHEMA.names)
    return stream if stream is not None else clv.DAYS_SCHEMA.empty_table()
