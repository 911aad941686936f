"""The analysts' query library: ``queries/<name>.sql``, written once in Athena's SQL dialect.

On AWS each file becomes the Athena view ``analytics_<name>`` over the Glue tables (``gold_daily_sales_summary``,
``quarantine_bronze_orders``, ...). Locally the same text is transpiled by sqlglot to DuckDB, and the
Glue-style table names ``<layer>_<name>`` are pointed at the DuckDB catalog's ``<layer>.<name>`` views.
"""

from __future__ import annotations

from importlib.resources import files

import sqlglot
from sqlglot import exp

LAYERS = ("bronze", "silver", "gold", "quarantine", "analytics")
VIEW_SCHEMA = "analytics"


def query_names() -> list[str]:
    folder = files("ecommerce_pipeline.catalog") / "queries"
    return sorted(f.name.removesuffix(".sql") for f in folder.iterdir() if f.name.endswith(".sql"))


def athena_sql(name: str) -> str:
    return (files("ecommerce_pipeline.catalog") / "queries" / f"{name}.sql").read_text().strip().rstrip(";")


def athena_view_name(name: str) -> str:
    return f"{VIEW_SCHEMA}_{name}"


def athena_create_view(name: str) -> str:
    return f"CREATE OR REPLACE VIEW {athena_view_name(name)} AS\n{athena_sql(name)}"


def _layer_table(table: exp.Table) -> exp.Table:
    layer, _, rest = table.name.partition("_")
    if table.args.get("db") is None and layer in LAYERS and rest:
        return exp.table_(rest, db=layer, alias=table.alias or None)
    return table


def to_duckdb(sql: str) -> str:
    """Athena SQL -> DuckDB SQL over the local catalog's ``<layer>.<name>`` views."""
    tree = sqlglot.parse_one(sql, read="athena")
    tree = tree.transform(lambda node: _layer_table(node) if isinstance(node, exp.Table) else node)
    return tree.sql(dialect="duckdb")


def duckdb_sql(name: str) -> str:
    return to_duckdb(athena_sql(name))
