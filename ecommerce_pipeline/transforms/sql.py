"""Run DuckDB SQL over in-memory Arrow tables: the engine behind every transform."""

from __future__ import annotations

import duckdb
import pyarrow as pa


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # Timestamps without an offset are UTC by contract; DuckDB must not assume the host's zone.
    con.execute("SET TimeZone = 'UTC'")
    return con


def query(sql: str, params: list | dict | None = None, **tables: pa.Table) -> pa.Table:
    """Execute ``sql`` with each keyword argument visible as a table of that name."""
    con = connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        return arrow(con, sql, params)
    finally:
        con.close()


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> pa.Table:
    return con.sql(sql, params=params).to_arrow_table()


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
