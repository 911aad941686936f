"""The local DuckDB catalog keeps a bronze view as it is when a night's files have its columns (creating it opens
every file of the history), and creates it again when they do not: the catalog lists the union of the files'
columns and the view shows every file's rows."""

from datetime import date

import duckdb
import pyarrow as pa

from ecommerce_pipeline.catalog.duckdb_catalog import DuckDBCatalog, _counted_by_statistics
from ecommerce_pipeline.storage.lake import LocalLake

D1, D2, D3, D4 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 4)


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


def test_a_runs_row_counts_from_footers_equal_the_rows_a_query_counts(tmp_path):
    """The catalog counts a run's rows of a bronze view from the Parquet footers when the ``business_date``
    statistics settle it, and reads the files they do not: the counts are those of a query over the view,
    for every set of days, whatever the files' statistics say."""
    import pyarrow.parquet as pq

    lake = LocalLake(tmp_path / "lake")
    catalog = DuckDBCatalog(tmp_path / "catalog.duckdb", lake)

    def rows(day: date, n: int, **columns) -> pa.Table:
        return pa.table({"order_id": [f"{day}-{i}" for i in range(n)], "business_date": [day] * n} | columns)

    lake.write_partition("bronze/orders", D1, rows(D1, 3))
    # Files the statistics cannot settle: a row group with a row without a date; a file without statistics.
    written = []
    no_date = pa.table({"order_id": ["x"], "business_date": pa.array([None], pa.date32())})
    for day, data, statistics in ((D2, pa.concat_tables([rows(D2, 5), no_date]), True), (D3, rows(D3, 4), False)):
        target = lake.root / f"bronze/orders/year={day.year}/month={day.month:02d}/day={day.day:02d}/part-0.parquet"
        target.parent.mkdir(parents=True)
        pq.write_table(data, target, write_statistics=statistics, row_group_size=3)
        written.append(target)
    views = catalog.register(["bronze/orders"], [D1, D2, D3])
    with duckdb.connect(str(catalog.path), read_only=True) as con:
        for days in ([D1], [D2], [D3], [D1, D3], [D1, D2, D3], []):
            wanted = ", ".join(f"DATE '{d}'" for d in days) or "NULL"
            query = f"SELECT count(*) FROM bronze.orders WHERE business_date IN ({wanted})"
            assert catalog.rows_of_days(views, days) == {"bronze.orders": con.execute(query).fetchone()[0]}
    assert catalog.rows_of_days(views, [D1, D2, D3]) == {"bronze.orders": 3 + 5 + 4}
    # Only the files the statistics cannot settle are read; an empty day's file (a row group without rows, and
    # so without statistics) is settled as no row.
    empty = lake.write_partition("bronze/orders", D4, rows(D4, 0)).location
    files = [empty, lake.write_partition("bronze/orders", D1, rows(D1, 3)).location, *(str(p) for p in written)]
    assert _counted_by_statistics(files, {D1, D2, D3, D4}) == (3, [str(p) for p in written])


def test_the_query_library_is_made_again_only_when_a_table_view_changes_its_columns(tmp_path):
    """An Iceberg table's view is created again at every run; the query library's views (which bind every
    view they read) are made again only when some table's columns changed, and then list the new columns."""
    from ecommerce_pipeline.storage.tables import local_table_store

    lake, store = LocalLake(tmp_path / "lake"), local_table_store(tmp_path / "lake")
    catalog = DuckDBCatalog(tmp_path / "catalog.duckdb", lake, store)
    store.replace("gold/daily_sales_summary", pa.table({"business_date": [D1], "total_revenue": [1.5]}))
    catalog.register(["gold/daily_sales_summary"])
    assert catalog._changed_columns  # new views
    store.replace("gold/daily_sales_summary", pa.table({"business_date": [D2], "total_revenue": [2.5]}))
    catalog.register(["gold/daily_sales_summary"])
    assert not catalog._changed_columns  # new rows, the same columns
    store.replace("gold/daily_sales_summary", pa.table({"business_date": [D3], "total_revenue": [3.5], "orders": [1]}))
    catalog.register(["gold/daily_sales_summary"])
    assert catalog._changed_columns
    with duckdb.connect(str(catalog.path), read_only=True) as con:
        assert con.execute("SELECT * FROM gold.daily_sales_summary").fetchall() == [(D3, 3.5, 1)]
        comments = con.execute(
            "SELECT count(comment) FROM duckdb_columns() WHERE schema_name = 'gold' AND table_name = 'daily_sales_summary'"
        ).fetchone()[0]
    assert comments >= 2  # the columns' descriptions, set in the same call as the view
