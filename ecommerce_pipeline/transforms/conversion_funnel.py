"""conversion_funnel: sessions reaching each funnel stage per day and device type, with conversion rates.

A session reaches a stage when it has an event of that stage or of any later one, so the funnel never
widens (a purchase without a logged checkout_start still passed checkout).
"""

from __future__ import annotations

import pyarrow as pa

from ecommerce_pipeline.contract import FUNNEL_STAGES
from ecommerce_pipeline.transforms.sql import query

INPUT_COLUMNS = ["business_date", "session_id", "event_seq", "event_type", "device_type"]


def _funnel_sql() -> str:
    reached = []
    for i, stage in enumerate(FUNNEL_STAGES):
        later = ", ".join(f"'{s}'" for s in FUNNEL_STAGES[i:])
        reached.append(f"bool_or(event_type IN ({later})) AS reached_{stage}")
    counts = [f"count(*) FILTER (WHERE reached_{s}) AS {s}_sessions" for s in FUNNEL_STAGES]
    rates = [
        f"CASE WHEN {a}_sessions > 0 THEN {b}_sessions / {a}_sessions END AS {a}_to_{b}_rate"
        for a, b in zip(FUNNEL_STAGES, FUNNEL_STAGES[1:])
    ]
    last = FUNNEL_STAGES[-1]
    return f"""
    WITH sessions AS (
        SELECT business_date, session_id, arg_min(device_type, event_seq) AS device_type, {", ".join(reached)}
        FROM events_clean GROUP BY business_date, session_id
    ), counted AS (
        SELECT business_date, coalesce(device_type, 'all') AS device_type, count(*) AS sessions, {", ".join(counts)}
        FROM sessions GROUP BY GROUPING SETS ((business_date, device_type), (business_date))
    )
    SELECT *, {", ".join(rates)},
           CASE WHEN sessions > 0 THEN {last}_sessions / sessions END AS overall_conversion_rate
    FROM counted
    ORDER BY business_date, device_type = 'all' DESC, device_type
    """


FUNNEL_SQL = _funnel_sql()


def conversion_funnel(events_clean: pa.Table) -> pa.Table:
    return query(FUNNEL_SQL, events_clean=events_clean)
