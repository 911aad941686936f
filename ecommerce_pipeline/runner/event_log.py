"""The local instance's event log: Dagster's SQLite event log, with one SQLAlchemy engine kept per database.

Dagster's ``SqliteEventLogStorage`` builds a new engine for every event it stores and disposes of it after:
a new SQLite connection, closed after one insert (closing the last connection of a database in WAL mode
checkpoints it), and an empty cache of compiled statements, so every insert is compiled again. A run over a
year of days stores tens of thousands of events (a materialization and the checks of every partition of every
asset). Here each database keeps its engine, and the engine one open connection, for the process; access still
goes through Dagster's own lock. A reader in another process (``dagster dev``) sees each event once it is
committed, as before (SQLite in WAL mode). A forked process starts with engines of its own.

Configured in the local ``dagster.yaml`` (``event_log_storage``); the deployed instance uses PostgreSQL.
"""

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

# A run's own database and the index: a process writes to a few at a time. A long-lived process (the UI,
# the daemon) reads many runs, so the engines of the least recently used databases are disposed of.
KEPT_ENGINES = 16


class KeptEngineSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that keeps one engine per database (a run's events, the index) for the
    process, so its compiled statements are reused from one event to the next."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._pid = os.getpid()
        super().__init__(base_dir, inst_data)

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
            with self._engine(shard).connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
        super().dispose()
