"""Superset's configuration for the local dashboards (``SUPERSET_CONFIG_PATH`` points at this file).

Runs inside the Superset virtualenv, never imported by the pipeline: standard library, SQLAlchemy,
DuckDB and duckdb-engine only. Everything Superset keeps lives under ``ECOM_SUPERSET_HOME``
(``./data/superset`` by default):
the SQLite metadata database and a secret key generated on first use.
"""

import os
import secrets
import time
from pathlib import Path

import duckdb
from duckdb_engine import Dialect as DuckDBDialect
from sqlalchemy import event

HOME = Path(os.environ["ECOM_SUPERSET_HOME"]).resolve()  # set by ecommerce_pipeline.dashboards.runner
HOME.mkdir(parents=True, exist_ok=True)

_secret = HOME / "secret_key"
if not _secret.exists():
    _secret.write_text(secrets.token_urlsafe(48))
    _secret.chmod(0o600)
SECRET_KEY = _secret.read_text().strip()

SQLALCHEMY_DATABASE_URI = f"sqlite:///{HOME / 'superset.db'}?check_same_thread=false"

# Charts always show the catalog's current figures: no result cache between a nightly run and the next view.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
# Render every chart of a dashboard, not only those scrolled into view (the browser test reads them all).
FEATURE_FLAGS = {"DASHBOARD_VIRTUALIZATION": False}
# Served on 127.0.0.1 only, over plain HTTP.
TALISMAN_ENABLED = False
CONTENT_SECURITY_POLICY_WARNING = False
SESSION_COOKIE_SECURE = False
RATELIMIT_ENABLED = False
RATELIMIT_STORAGE_URI = "memory://"
SQLLAB_CTAS_NO_LIMIT = True
ROW_LIMIT = 50000

CATALOG_LOCK_WAIT_SECONDS = 30.0  # as long as the catalog's writer waits for readers


# On the DuckDB dialect itself: a listener on sqlalchemy's Engine class never reaches dialects (SQLAlchemy 1.4).
@event.listens_for(DuckDBDialect, "do_connect")
def _wait_while_the_catalog_is_written(dialect, conn_rec, cargs, cparams):
    """DuckDB lets one process write a database file, or any number read it, never both at once.

    Superset opens the catalog read-only for each query (its query engines use no connection pool) and
    closes it when the query ends, so the nightly run's catalog step gets the file between two queries. A
    query that starts while that step holds the file (well under a second) waits here instead of failing,
    as the catalog's own writer waits for readers (``duckdb_catalog._connect``).
    """
    deadline = time.monotonic() + CATALOG_LOCK_WAIT_SECONDS
    pause = 0.05
    while True:
        try:
            return dialect.connect(*cargs, **cparams)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
