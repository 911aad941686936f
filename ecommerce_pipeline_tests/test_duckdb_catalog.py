"""The local DuckDB catalog keeps a bronze view as it is when a night's files have its columns (creating it opens
every file of the history), and creates it again when they do not: the catalog lists the union of the files'
columns and the view shows every file's rows."""

from datetime import date

import duckdb
import pyarrow as pa

from ecommerce_pipeline.catalog.duckdb_catalog import DuckDBCatalog
from ecommerce_pipeline.storage.lake import LocalLake

D1, D2, D3 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)


def _view(catalog: DuckDBCatalog) -> tuple[list[str], list[tuple]]:
    """The view's columns as the catalog file lists them (what a schema browser shows; DuckDB itself binds a
    view again at each query), and its rows."""
    with duckdb.connect(str(catalog.path), read_only=True) as con:
        listed = con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'bronze' AND table_name = 'orders' "
            "ORDER BY column_index"
        ).fetchall()
        names = [c[0] for c in listed if c[0] not in ("year", "month", "day")]
        rows = con.execute(f"SELECT {', '.join(names)} FROM bronze.orders ORDER BY order_id").fetchall()
    return names, rows


def test_a_bronze_view_follows_the_columns_of_every_night(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    catalog = DuckDBCatalog(tmp_path / "catalog.duckdb", lake)

    def night(day: date, data: dict) -> tuple[list[str], list[tuple]]:
        lake.write_partition("bronze/orders", day, pa.table(data))
        catalog.register(["bronze/orders"], [day])
        return _view(catalog)

    assert night(D1, {"order_id": ["O1"], "amount": [1]}) == (["order_id", "amount"], [("O1", 1)])
    # The same columns: the glob finds the new file.
    assert night(D2, {"order_id": ["O2"], "amount": [2]}) == (["order_id", "amount"], [("O1", 1), ("O2", 2)])
    # A new column (a new export field): the view gets it, older rows have none.
    assert night(D3, {"order_id": ["O3"], "amount": [3], "note": ["gift"]}) == (
        ["order_id", "amount", "note"],
        [("O1", 1, None), ("O2", 2, None), ("O3", 3, "gift")],
    )
    # A re-run of the only day with that column, without it: the column leaves the view.
    assert night(D3, {"order_id": ["O3"], "amount": [3]}) == (
        ["order_id", "amount"],
        [("O1", 1), ("O2", 2), ("O3", 3)],
    )
    # A type that changes on a re-run is followed too (the view is the union of the files' types).
    names, rows = night(D2, {"order_id": ["O2"], "amount": [2.5]})
    assert rows == [("O1", 1.0), ("O2", 2.5), ("O3", 3.0)]
