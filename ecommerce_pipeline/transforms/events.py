"""events_clean: the click stream by event date, every copy received, duplicates flagged.

Events are facts that do not change, but the same event can be exported twice (on the same day or on
later days). Events are stored by their date in the store's time zone (``business_date``); of several
copies of one event id on a date, the first received (landing day, then file and row) counts and the
others are kept with ``is_duplicate`` true, so re-running any landing day can never lose the event.
``event_seq`` numbers the counted events of a session on that date by time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.transforms.orders import local_date
from ecommerce_pipeline.transforms.sql import arrow, connect

OUTPUT_COLUMNS = [
    "business_date", "event_id", "session_id", "event_seq", "event_type", "event_ts", "customer_id", "product_id",
    "page_url", "referrer_url", "device_type", "country", "is_duplicate", "landing_date", "_source_file",
    "_source_row", "_batch_id",
]  # fmt: skip


def _default(column: pa.ChunkedArray, default: str, lower: bool = False) -> pa.ChunkedArray:
    """Trimmed (and lower-cased) values, ``default`` where missing or blank, as a dictionary column: worked
    out once per distinct value (a handful of devices and countries), never copied out per row."""
    chunks = []
    for chunk in column.dictionary_encode().chunks:
        values = pc.utf8_trim_whitespace(chunk.dictionary)
        if lower:
            values = pc.utf8_lower(values)
        values = pc.fill_null(pc.if_else(pc.equal(values, ""), None, values), default)
        values = pa.concat_arrays([values, pa.array([default], pa.string())])  # where the row is null
        chunks.append(pa.DictionaryArray.from_arrays(pc.fill_null(chunk.indices, len(values) - 1), values))
    return pa.chunked_array(chunks, pa.dictionary(pa.int32(), pa.string()))


def new_events(bronze: pa.Table, timezone: str = "UTC") -> pa.Table:
    """The run's bronze events, cleaned and dated (``business_date`` = the event's date in the store's zone)."""
    con = connect()
    con.register("bronze", bronze.select([c for c in bronze.column_names if c not in ("device_type", "country")]))
    dated = arrow(
        con,
        f"SELECT {local_date('event_ts', timezone)} AS event_date, business_date AS landing_date FROM bronze",
    )
    con.close()
    table = bronze.drop_columns(["business_date"])
    table = table.set_column(
        table.schema.get_field_index("device_type"),
        "device_type",
        _default(bronze["device_type"], "unknown", lower=True).cast(pa.string()),
    )
    table = table.set_column(
        table.schema.get_field_index("country"), "country", _default(bronze["country"], "unknown").cast(pa.string())
    )
    return table.append_column("business_date", dated["event_date"]).append_column(
        "landing_date", dated["landing_date"]
    )


# The first copy of an event id on a date counts; counted events are numbered per session by time; rows are
# stored by date, session and time. MERGE_SQL and merge_events share these three clauses.
_IS_DUPLICATE = """row_number() OVER (PARTITION BY business_date, event_id
                                 ORDER BY landing_date, _source_file, _source_row) > 1"""
_EVENT_SEQ = """CASE WHEN NOT is_duplicate THEN row_number() OVER (
              PARTITION BY business_date, session_id, is_duplicate ORDER BY event_ts, event_id)::INTEGER END"""
_STORED_ORDER = "business_date, session_id, event_ts, event_id, landing_date, _source_file, _source_row"

# The merge's meaning, in one statement (the same-work reference runs it as is). ``merge_events`` computes the
# same rows in the same order, but sorts only the key columns and moves each wide row once.
MERGE_SQL = f"""
WITH all_events AS (
    SELECT * EXCLUDE (is_duplicate, event_seq) FROM stored WHERE landing_date NOT IN (SELECT day FROM days)
    UNION ALL BY NAME SELECT * FROM incoming
), flagged AS (
    SELECT *, {_IS_DUPLICATE} AS is_duplicate FROM all_events
)
SELECT *, {_EVENT_SEQ} AS event_seq FROM flagged ORDER BY {_STORED_ORDER}
"""

# The later copies of the event ids that occur more than once on a date, among the rows kept (a few in a
# million: only they are ranked by a window). DuckDB streams the registered keys through a hash aggregate.
_LATER_COPIES_SQL = f"""
WITH repeated AS (
    SELECT business_date, event_id FROM keys WHERE keep GROUP BY ALL HAVING count(*) > 1
), copies AS (
    SELECT k.* FROM keys k SEMI JOIN repeated r
        ON k.business_date IS NOT DISTINCT FROM r.business_date AND k.event_id IS NOT DISTINCT FROM r.event_id
    WHERE k.keep
)
SELECT pos FROM (SELECT pos, {_IS_DUPLICATE} AS is_duplicate FROM copies) WHERE is_duplicate
"""
_KEY_COLUMNS = ["business_date", "event_id", "session_id", "event_ts", "landing_date", "_source_file", "_source_row"]
_STORED_COLUMNS = [c for c in OUTPUT_COLUMNS if c not in ("is_duplicate", "event_seq")]


def _file_ranks(files: pa.ChunkedArray) -> pa.ChunkedArray:
    """Each row's file name as its rank among the names (int32, in the names' byte order, as DuckDB and
    Arrow compare strings): sorting by it is sorting by the name, without spelling the name out per row."""
    chunks = [c.cast(pa.dictionary(pa.int32(), pa.string())) for c in files.chunks]
    names = pc.unique(pa.chunked_array([c.dictionary for c in chunks], pa.string()))
    names = names.take(pc.sort_indices(names))
    return pa.chunked_array([pc.index_in(c.dictionary, value_set=names).take(c.indices) for c in chunks], pa.int32())


def _stored_order(everything: pa.Table, keep: np.ndarray) -> np.ndarray:
    """The positions of the kept rows in _STORED_ORDER (nulls last, as DuckDB's ORDER BY puts them). Arrow
    sorts the key columns where they are, with 8 bytes a row more; DuckDB's ORDER BY copied the keys into its
    own sort (850 MiB more for 4.5 million events, the step's peak)."""
    keys = {c.strip(): everything.column(c.strip()) for c in _STORED_ORDER.split(",")}
    keys["_source_file"] = _file_ranks(keys["_source_file"])
    order = pc.sort_indices(pa.table(keys), sort_keys=[(c, "ascending") for c in keys]).to_numpy()
    return order[keep[order]]


def _same_as_previous(column: pa.ChunkedArray) -> np.ndarray:
    """For each row after the first: whether it holds the value of the row before (two nulls are the same, as
    in a window's partition)."""
    this, previous = column.slice(1), column.slice(0, len(column) - 1)
    equal = pc.fill_null(pc.equal(this, previous), False)
    both_null = pc.and_(pc.is_null(this), pc.is_null(previous))
    return pc.or_(equal, both_null).to_numpy(zero_copy_only=False)


def _numbered_by_session(dates: pa.ChunkedArray, sessions: pa.ChunkedArray, duplicate: np.ndarray) -> np.ndarray:
    """_EVENT_SEQ over rows already in the stored order: the counted events of each (date, session), numbered
    1, 2, ... as they come (the stored order sorts a session's rows by time and event id, the window's order,
    and two counted rows never share a date and an event id); a flagged copy's number means nothing."""
    n = len(duplicate)
    if n == 0:
        return np.zeros(0, np.int32)
    starts = np.ones(n, bool)
    starts[1:] = ~(_same_as_previous(dates) & _same_as_previous(sessions))
    is_counted = (~duplicate).astype(np.int64)
    running = np.cumsum(is_counted)
    first = np.flatnonzero(starts)
    before_session = running[first] - is_counted[first]
    seq = running - before_session[np.cumsum(starts) - 1]
    return seq.astype(np.int32)


def _taken(columns: list, schema: pa.Schema, indices: pa.Array) -> pa.Table:
    """The rows at ``indices`` of the table of ``columns``, emptying ``columns``: each column is let go once
    moved (where nothing else holds it), and two are moved at once, as Arrow's take runs on one core (moving a
    day's URLs into the stored order: 6.6 s on one core against 3.6 s on two, 4.5 million events)."""

    def moved(i: int) -> pa.ChunkedArray:
        column, columns[i] = columns[i], None
        return column.take(indices)

    with ThreadPoolExecutor(pa.cpu_count()) as pool:
        taken = list(pool.map(moved, range(len(columns))))
    columns.clear()
    return pa.Table.from_arrays(taken, schema=schema)


def merge_events(stored: pa.Table | None, incoming: pa.Table, landing_days: list) -> pa.Table:
    """The events of the dates in ``stored`` (every date ``incoming`` touches, and every date the run's landing
    days touched before) with the run's landing days replaced by ``incoming``: MERGE_SQL's rows, in its order."""
    return merge_handed_over([stored, incoming], landing_days)


def merge_handed_over(sources: list, landing_days: list) -> pa.Table:
    """``merge_events(*sources, landing_days)``, emptying ``sources``: a caller that holds no other reference
    to the tables lets each of their columns go as soon as it is moved, so a large day is not held twice.

    A window function in DuckDB carries every column through its sort: on a day of millions of clicks (URLs,
    user agents) that held the day several times over. Here Arrow sorts the key columns in place, DuckDB ranks
    only the copies of repeated event ids, the numbering by session is one pass over the sorted keys, and each
    wide row is then taken once from where it already is, a column at a time."""
    stored, incoming = sources
    sources.clear()
    incoming = incoming.select(_STORED_COLUMNS)
    if stored is None:
        stored = incoming.slice(0, 0)
    else:
        # Same names, order and types as the incoming rows, so both are one table without a copy.
        stored = stored.select(_STORED_COLUMNS).cast(incoming.schema)
    # Without an empty stored part: Arrow's take over a column of several chunks joins them first, a copy of
    # the column in flight (the first run of a day has nothing stored for its dates).
    everything = pa.concat_tables([stored, incoming]) if stored.num_rows else incoming
    replaced = pc.is_in(stored.column("landing_date"), pa.array(landing_days, pa.date32()))
    del stored, incoming
    keep = np.concatenate(
        [~replaced.to_numpy(zero_copy_only=False), np.ones(everything.num_rows - len(replaced), bool)]
    )
    positions = _stored_order(everything, keep)
    keys = everything.select(_KEY_COLUMNS).append_column("keep", pa.array(keep))
    keys = keys.append_column("pos", pa.array(np.arange(everything.num_rows, dtype=np.int64)))
    con = connect()
    con.register("keys", keys)
    later_copies = arrow(con, _LATER_COPIES_SQL).column("pos").to_numpy()
    con.close()
    del keys
    is_later_copy = np.zeros(everything.num_rows, bool)
    is_later_copy[later_copies] = True
    duplicate = is_later_copy[positions]
    indices = pa.array(positions)
    in_order = everything.select(["business_date", "session_id"]).take(indices)
    seq = _numbered_by_session(in_order.column("business_date"), in_order.column("session_id"), duplicate)
    del in_order
    schema, columns = everything.schema, everything.columns
    del everything
    merged = _taken(columns, schema, indices)
    merged = merged.append_column("is_duplicate", pa.array(duplicate))
    return merged.append_column("event_seq", pa.array(seq, mask=duplicate)).select(OUTPUT_COLUMNS)


def counted(events: pa.Table) -> pa.Table:
    """The events that count (the first copy of each)."""
    return events.filter(pc.invert(events.column("is_duplicate")))
