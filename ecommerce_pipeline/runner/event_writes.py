"""How the local event log writes one event: the rows Dagster's SQLite event log writes, each event serialized
once and each statement built once.

Dagster's ``SqliteEventLogStorage.store_event`` serializes an event to JSON for its row, and again for every
other row that carries it: the asset's last materialization (wrapped in a record with its id) and the asset
check's execution (the same JSON). A check planned for a run of 361 days serialized the same planned event 361
times. It also builds a new SQLAlchemy statement with the row's values for every write, whose cache key
SQLAlchemy then works out again, and writes an asset's row by inserting it and catching the unique-key error
when it exists (it nearly always does). In a year's run (24,000 events) that was about a third of the run.

Here each event is serialized once and the same text goes to every row that holds it; the statements are
built once with bound parameters; an asset's row is updated, and inserted only when there is none. The rows,
columns and values are the ones Dagster writes: a test stores the same runs through this and through Dagster's
own storage and compares the tables row by row.
"""

from collections.abc import Mapping
from typing import Any

from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, EVENT_TYPE_TO_PIPELINE_RUN_STATUS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.base import EventLogRecord
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, AssetKeyTable, SqlEventLogStorageTable
from dagster._time import datetime_from_timestamp
from dagster_shared.serdes import serialize_value
from sqlalchemy import and_, bindparam
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

_INSERT_EVENT = SqlEventLogStorageTable.insert()
_INSERT_ASSET = AssetKeyTable.insert()
# The columns to set come from each execution's parameters; the key is bound under a name no column has.
_UPDATE_ASSET = AssetKeyTable.update().where(AssetKeyTable.c.asset_key == bindparam("key_"))
_INSERT_CHECK = AssetCheckExecutionsTable.insert()
_CHECK_OF_RUN = and_(
    AssetCheckExecutionsTable.c.asset_key == bindparam("asset_key_"),
    AssetCheckExecutionsTable.c.check_name == bindparam("check_name_"),
    AssetCheckExecutionsTable.c.run_id == bindparam("run_id_"),
)
_UPDATE_CHECK_OF_PARTITION = AssetCheckExecutionsTable.update().where(
    _CHECK_OF_RUN, AssetCheckExecutionsTable.c.partition == bindparam("partition_")
)
_UPDATE_CHECK_WITHOUT_PARTITION = AssetCheckExecutionsTable.update().where(
    _CHECK_OF_RUN, AssetCheckExecutionsTable.c.partition.is_(None)
)


def _record_text(event_text: str, storage_id: int) -> str:
    """``serialize_value(EventLogRecord(storage_id, event))`` from the event's own JSON: Dagster writes an
    object's fields in name order, so the record is its class, the event and the id."""
    return f'{{"__class__": "EventLogRecord", "event_log_entry": {event_text}, "storage_id": {storage_id}}}'


class SerializeOnceEventWrites:
    """Mixed into a ``SqlEventLogStorage`` over SQLite's layout (a database per run and an index database)."""

    _serialized: tuple[EventLogEntry, str] | None = None
    # Whether ``_record_text`` gives Dagster's own text: checked on the first materialization of the process.
    _record_text_checked: bool | None = None

    def _text_of(self, event: EventLogEntry) -> str:
        serialized = self._serialized  # one read: another thread may store an event meanwhile
        if serialized is not None and serialized[0] is event:
            return serialized[1]
        return serialize_value(event)

    def store_event(self, event: EventLogEntry) -> None:
        """Store the event in its run's database and, as Dagster does, copy asset, check and run-status events
        to the index database."""
        row = self._event_to_row(event)
        self._serialized = (event, row["event"])
        with self.run_connection(event.run_id) as conn:
            conn.execute(_INSERT_EVENT, row)
        if not event.is_dagster_event:
            return
        event_type = event.dagster_event_type
        if event_type in ASSET_EVENTS:
            with self.index_transaction() as conn:
                event_id = conn.execute(_INSERT_EVENT, row).inserted_primary_key[0]
                if event_id is None:
                    raise DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
                self._store_asset_event_tags(conn, [event], [event_id])
                self._store_asset_event(conn, event, event_id)
        if event_type in ASSET_CHECK_EVENTS:
            with self.index_connection() as conn:
                event_id = conn.execute(_INSERT_EVENT, row).inserted_primary_key[0]
            self.store_asset_check_event(event, event_id)
        if event_type in EVENT_TYPE_TO_PIPELINE_RUN_STATUS:
            with self.index_connection() as conn:
                conn.execute(_INSERT_EVENT, row)

    def _store_asset_event(self, conn: Connection, event: EventLogEntry, event_id: int) -> None:
        if not (event.dagster_event and event.dagster_event.asset_key):
            return
        values = self._get_asset_entry_values(event, event_id, self._has_asset_key_index_cols_on_connection(conn))
        if not values:
            return
        key = event.dagster_event.asset_key.to_string()
        if conn.execute(_UPDATE_ASSET, {"key_": key, **values}).rowcount:
            return
        try:
            conn.execute(_INSERT_ASSET, {"asset_key": key, **values})
        except IntegrityError:  # another process made the row since
            conn.execute(_UPDATE_ASSET, {"key_": key, **values})

    def _get_asset_entry_values(
        self, event: EventLogEntry, event_id: int, has_asset_key_index_cols: bool
    ) -> dict[str, Any]:
        """Dagster's values for the asset's row; a materialization's record is made from the event's JSON."""
        dagster_event = event.dagster_event
        if not (dagster_event and dagster_event.is_step_materialization):
            return super()._get_asset_entry_values(event, event_id, has_asset_key_index_cols)
        values: dict[str, Any] = {
            "last_materialization": self._record_of(event, event_id),
            "last_run_id": event.run_id,
        }
        if has_asset_key_index_cols:
            values["last_materialization_timestamp"] = datetime_from_timestamp(event.timestamp)
        return values

    def _record_of(self, event: EventLogEntry, event_id: int) -> str:
        if self._record_text_checked:
            return _record_text(self._text_of(event), event_id)
        # The first of the process is checked; a Dagster that writes records otherwise keeps its own way.
        real = serialize_value(EventLogRecord(storage_id=event_id, event_log_entry=event))
        if self._record_text_checked is None:
            type(self)._record_text_checked = _record_text(self._text_of(event), event_id) == real
        return real

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        planned = event.dagster_event.event_specific_data
        partitions = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        row = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": self._text_of(event),  # once, not once per partition
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(_INSERT_CHECK, [{**row, "partition": partition} for partition in partitions])

    def _update_asset_check_evaluation(self, event: EventLogEntry, event_id: int | None) -> None:
        evaluation = event.dagster_event.event_specific_data
        run = {
            "asset_key": evaluation.asset_key.to_string(),
            "check_name": evaluation.check_name,
            "run_id": event.run_id,
        }
        values = _check_values(evaluation, self._text_of(event), self._event_insert_timestamp(event), event_id)
        where: Mapping[str, Any] = {f"{k}_": v for k, v in run.items()}
        if evaluation.partition is None:
            update = _UPDATE_CHECK_WITHOUT_PARTITION
        else:
            update, where = _UPDATE_CHECK_OF_PARTITION, {**where, "partition_": evaluation.partition}
        with self.index_connection() as conn:
            rows = conn.execute(update, {**where, **values}).rowcount
            if rows == 0:  # no planned row (a step launched elsewhere): Dagster inserts it
                rows = conn.execute(_INSERT_CHECK, {**run, **values}).rowcount
        if rows > 1:
            raise DagsterInvariantViolationError(
                f"Updated {rows} rows for asset check evaluation {evaluation.asset_check_key} "
                "as a result of duplicate AssetCheckPlanned events."
            )


def _check_values(evaluation, event_text: str, timestamp, event_id: int | None) -> dict[str, Any]:
    status = AssetCheckExecutionRecordStatus.SUCCEEDED if evaluation.passed else AssetCheckExecutionRecordStatus.FAILED
    target = evaluation.target_materialization_data
    return {
        "execution_status": status.value,
        "evaluation_event": event_text,
        "evaluation_event_timestamp": timestamp,
        "evaluation_event_storage_id": event_id,
        "materialization_event_storage_id": target.storage_id if target else None,
        "partition": evaluation.partition,
    }
