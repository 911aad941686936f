"""Importing the public REES46 click-stream export ("eCommerce behavior data from a multi-category store")
into landing event files.

REES46 writes one row per event: ``event_time`` (``2019-10-01 00:00:00 UTC``), ``event_type`` (``view``,
``cart``, ``remove_from_cart``, ``purchase``), ``product_id``, ``category_id``, ``category_code``, ``brand``,
``price``, ``user_id`` and ``user_session``. The import only renames and re-formats; it decides nothing:

- ``event_id`` is the export's own position, ``<file stem>:<row>`` (REES46 has no event id, and two rows
  with the same values are two events, so a hash of the values would merge them);
- ``view`` is a ``product_view`` (REES46 logs product pages only), ``cart`` an ``add_to_cart``; any other
  type (``remove_from_cart``) is passed through as written, so bronze quarantines it under ``one_of``
  with its file and row instead of the import guessing a stage;
- the timestamp keeps its UTC offset (``2019-10-01T00:00:00+00:00``); a blank session stays blank, and
  bronze quarantines the row as ``required``;
- ``brand``, ``category_code`` and ``price`` are not part of the event contract and are dropped.

Files land in ``events/<UTC date of the first event>/<file stem>.csv``, the day the export describes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EVENT_TYPES = {"view": "product_view", "cart": "add_to_cart", "purchase": "purchase"}
COLUMNS = ("event_time", "event_type", "product_id", "user_id", "user_session")


def convert_rees46(frame: pd.DataFrame, stem: str) -> pd.DataFrame:
    """One landing event per REES46 row, in the event contract's columns."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{stem}: not a REES46 export, missing {', '.join(missing)}")
    times = frame["event_time"].str.strip()
    iso = times.str.replace(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$", r"\1T\2+00:00", regex=True)
    return pd.DataFrame(
        {
            "event_id": [f"{stem}:{row}" for row in range(1, len(frame) + 1)],
            "session_id": frame["user_session"],
            "event_type": frame["event_type"].map(lambda t: EVENT_TYPES.get(t, t)),
            "event_ts": iso,
            "customer_id": frame["user_id"],
            "product_id": frame["product_id"],
        }
    )


def import_rees46(source: str | Path, landing_root: str | Path) -> dict[str, int]:
    """Convert a REES46 CSV (or every ``*.csv`` of a folder) into landing event files; rows per landing day."""
    source = Path(source)
    files = sorted(source.glob("*.csv")) if source.is_dir() else [source]
    if not files or not all(f.is_file() for f in files):
        raise FileNotFoundError(f"no REES46 CSV at {source}")
    written: dict[str, int] = {}
    for file in files:
        # Every value stays text: ids such as user_id are not numbers to the pipeline.
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        events = convert_rees46(frame, file.stem)
        day = events["event_ts"].str.slice(0, 10).min() if len(events) else file.stem[-10:]
        folder = Path(landing_root) / "events" / day
        folder.mkdir(parents=True, exist_ok=True)
        events.to_csv(folder / f"{file.stem}.csv", index=False)
        written[day] = written.get(day, 0) + len(events)
    return written
