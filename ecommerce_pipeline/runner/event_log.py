"""The local instance's event log: Dagster's SQLite event log, with one SQLAlchemy engine kept per database.

Dagster's ``SqliteEventLogStorage`` builds a new engine for every event it stores and disposes of it after:
a new SQLite connection, closed after one insert (closing the last connection of a database in WAL mode
checkpoints it), and an empty cache of compiled statements, so every insert is compiled again. A run over a
year of days stores tens of thousands of events (a materialization and the checks of every partition of every
asset). Here each database keeps its engine, and the engine one open connection, for the process; access still
goes through Dagster's own lock. A reader in another process (``dagster dev``) sees each event once it is
committed, as before (SQLite in WAL mode). A forked process starts with engines of its own.

Dagster hands a batch of events (a step's per-partition materializations, a run's planned events) to
``store_event_batch``; here a batch is one transaction per database, not one per event and database. And
Dagster's questions about the schema (does the tags table exist, does the asset table have a column), asked
at every asset event with a new engine, are answered once.

A step that records many events of its own (each partition's check evaluations) stores them in one
transaction too (``one_transaction``). And the databases sync to disk at a checkpoint, not at every commit
(``synchronous=NORMAL``, SQLite's advice for WAL mode): an application crash loses nothing, a power cut may lose
the last events, never the database.

Configured in the local ``dagster.yaml`` (``event_log_storage``); the deployed instance uses PostgreSQL.
"""

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

from ecommerce_pipeline.runner.event_writes import SerializeOnceEventWrites

# Dagster hands a step's per-partition materializations and a run's planned events to ``store_event_batch``
# in batches of this many when the variable is set; unset, it stores them one by one.
EVENT_BATCH_SIZE = "500"

# A run's own database and the index: a process writes to a few at a time. A long-lived process (the UI,
# the daemon) reads many runs, so the engines of the least recently used databases are disposed of.
KEPT_ENGINES = 16


class KeptEngineSqliteEventLogStorage(SerializeOnceEventWrites, SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that keeps one engine per database (a run's events, the index) for the
    process, so its compiled statements are reused from one event to the next; each event is serialized once
    (``event_writes``)."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._pid = os.getpid()
        self._batch: dict[str, Connection] | None = None  # the open transactions of ``store_event_batch``
        # Tables and columns that exist stay: Dagster asks about them at every asset event (a new engine and
        # a schema query each time, a third of the cost of storing a materialization).
        self._tables_seen: set[str] = set()
        self._asset_key_columns_seen: set[str] = set()
        super().__init__(base_dir, inst_data)
        # Read by Dagster at every event; a process that stores its events here stores them in batches.
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
        # Re-entrant: a batch holds it while each event of the batch takes it again.
        self._db_lock = threading.RLock()

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "KeptEngineSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        if os.getpid() != self._pid:
            # A forked process must not use (or close) the connections it inherited.
            for inherited in self._engines.values():
                inherited.dispose(close=False)
            self._engines, self._pid = OrderedDict(), os.getpid()
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                pool_size=1,  # used under Dagster's lock: one connection at a time
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            # An fsync per commit was a third of storing a check evaluation (0.4 ms a commit, measured).
            event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA synchronous=NORMAL"))
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            self._engines[shard] = engine
            while len(self._engines) > KEPT_ENGINES:
                self._engines.popitem(last=False)[1].dispose()
        self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            if self._batch is None:
                with self._engine(shard).connect() as conn, conn.begin():
                    yield conn
                return
            if shard not in self._batch:
                self._batch[shard] = self._engine(shard).connect()
                self._batch[shard].begin()
            yield self._batch[shard]

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Store the events in one transaction per database. Dagster hands over a batch (the materializations
        of a step's partitions, the planned events of a run) when ``DAGSTER_EVENT_BATCH_SIZE`` is set; if the
        batch fails, nothing of it is kept and Dagster stores its events one by one."""
        with self.one_transaction():
            for entry in events:
                self.store_event(entry)

    @contextmanager
    def one_transaction(self) -> Iterator[None]:
        """Every event stored in this block is committed at its end, in one transaction per database; if the
        block fails, none of them is kept. Other threads wait for the block to end."""
        with self._db_lock:
            if self._batch is not None:  # already inside one: it commits
                yield
                return
            self._batch = {}
            try:
                yield
                for conn in self._batch.values():
                    conn.commit()
            finally:
                for conn in self._batch.values():
                    conn.close()  # rolls back what was not committed
                self._batch = None

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables_seen and super().has_table(table_name):
            self._tables_seen.add(table_name)
        return table_name in self._tables_seen

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        if column_name not in self._asset_key_columns_seen and super()._has_asset_key_col_on_connection(
            conn, column_name
        ):
            self._asset_key_columns_seen.add(column_name)
        return column_name in self._asset_key_columns_seen

    def dispose(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
        super().dispose()
