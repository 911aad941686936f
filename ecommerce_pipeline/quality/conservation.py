"""Row conservation: every landing row is in bronze or its quarantine, every bronze row in silver,
its quarantine, or counted as a duplicate. Counts are recomputed from the tables themselves, not
taken from the transform that produced them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ecommerce_pipeline.transforms.sql import query


@dataclass
class ConservationOutcome:
    passed: bool
    expected: int
    accounted: int
    counts: dict[str, int]
    problems: list[str]


def distinct_count(table: pa.Table, keys: list[str]) -> int:
    cols = ", ".join(f'"{k}"' for k in keys)
    return (
        query(f"SELECT count(*) AS n FROM (SELECT DISTINCT {cols} FROM keys)", keys=table.select(keys))
        .column("n")[0]
        .as_py()
    )


def bronze_conservation(landing_rows: dict[str, int], valid: pa.Table, quarantine: pa.Table) -> ConservationOutcome:
    """Each landing file's rows are all in bronze or quarantine, and no (file, row) appears twice."""
    per_file = query(
        """
        SELECT _source_file::VARCHAR AS file, count(*) AS found, count(DISTINCT _source_row) AS distinct_rows
        FROM (SELECT _source_file, _source_row FROM valid UNION ALL SELECT _source_file, _source_row FROM quarantine)
        GROUP BY ALL
        """,
        valid=valid.select(["_source_file", "_source_row"]),
        quarantine=quarantine.select(["_source_file", "_source_row"]),
    )
    found = dict(zip(per_file["file"].to_pylist(), per_file["found"].to_pylist()))
    repeated = sum(per_file["found"].to_pylist()) - sum(per_file["distinct_rows"].to_pylist())
    problems = []
    if repeated:
        problems.append(f"{repeated} (file, row) pairs appear more than once across bronze and quarantine")
    for name in sorted(set(landing_rows) | set(found)):
        if landing_rows.get(name, 0) != found.get(name, 0):
            problems.append(
                f"{name}: {landing_rows.get(name, 0)} landing rows, {found.get(name, 0)} in bronze + quarantine"
            )
    expected = sum(landing_rows.values())
    return ConservationOutcome(
        passed=not problems,
        expected=expected,
        accounted=valid.num_rows + quarantine.num_rows,
        counts={"landing_rows": expected, "bronze_rows": valid.num_rows, "quarantined_rows": quarantine.num_rows},
        problems=problems,
    )


def silver_conservation(bronze: pa.Table, keys: list[str], kept: int, quarantined: int) -> ConservationOutcome:
    """Bronze rows = kept + quarantined + duplicates, where duplicates = bronze rows - distinct keys."""
    distinct = distinct_count(bronze, ["business_date", *keys])
    duplicates = bronze.num_rows - distinct
    problems = []
    if kept + quarantined != distinct:
        problems.append(
            f"{distinct} distinct {'/'.join(keys)} in bronze but {kept} kept + {quarantined} quarantined "
            f"= {kept + quarantined}: {distinct - kept - quarantined} row(s) unaccounted for"
        )
    return ConservationOutcome(
        passed=not problems,
        expected=bronze.num_rows,
        accounted=kept + quarantined + duplicates,
        counts={
            "bronze_rows": bronze.num_rows,
            "kept_rows": kept,
            "quarantined_rows": quarantined,
            "duplicates_removed": duplicates,
        },
        problems=problems,
    )


def rows_of_days(table: pa.Table, days: list) -> pa.Table:
    """Rows of ``table`` whose business_date is one of ``days`` (history inputs reach further back)."""
    return table.filter(pc.is_in(table.column("business_date"), pa.array(days, pa.date32())))
