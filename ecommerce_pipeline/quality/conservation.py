"""Row conservation: every landing row is in bronze or its quarantine, every bronze row in silver,
its quarantine, or counted as a duplicate. Counts are recomputed from the tables themselves, not
taken from the transform that produced them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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


def combined(outcomes: list[ConservationOutcome]) -> ConservationOutcome:
    """One outcome for several days checked one at a time."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        for name, n in outcome.counts.items():
            counts[name] = counts.get(name, 0) + n
    return ConservationOutcome(
        passed=all(o.passed for o in outcomes),
        expected=sum(o.expected for o in outcomes),
        accounted=sum(o.accounted for o in outcomes),
        counts=counts,
        problems=[p for o in outcomes for p in o.problems],
    )


def distinct_count(table: pa.Table, keys: list[str]) -> int:
    cols = ", ".join(f'"{k}"' for k in keys)
    return (
        query(f"SELECT count(*) AS n FROM (SELECT DISTINCT {cols} FROM keys)", keys=table.select(keys))
        .column("n")[0]
        .as_py()
    )


def bronze_conservation(landing_rows: dict[str, int], valid: pa.Table, quarantine: pa.Table) -> ConservationOutcome:
    """Each landing file's rows are all in bronze or quarantine, and no (file, row) appears twice."""
    lineage = [t.column("_source_file") for t in (valid, quarantine)]
    names = sorted(set(landing_rows) | {f for column in lineage for f in _files(column)})
    # Files are counted by number, not by name: hashing millions of (name, row) pairs costs seconds.
    files = pa.chunked_array(
        [*_file_numbers(lineage[0], names).chunks, *_file_numbers(lineage[1], names).chunks], pa.int32()
    )
    rows = pa.chunked_array([*valid.column("_source_row").chunks, *quarantine.column("_source_row").chunks], pa.int64())
    counted = pc.value_counts(files)
    found = {
        names[i] if i is not None else None: n
        for i, n in zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist())
    }
    repeated = _repeated_pairs(files, rows)
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


def _files(column: pa.ChunkedArray) -> set[str]:
    """The file names in a lineage column (its dictionaries, where it has them)."""
    found: set[str] = set()
    for chunk in column.chunks:
        values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else pc.unique(chunk)
        found.update(v for v in values.to_pylist() if v is not None)
    return found


def _file_numbers(column: pa.ChunkedArray, names: list[str]) -> pa.ChunkedArray:
    """Each row's file as its position in ``names``: one lookup per dictionary chunk, not per row."""
    value_set = pa.array(names, pa.string())
    chunks = [
        pc.index_in(chunk.dictionary, value_set=value_set).take(chunk.indices)
        if pa.types.is_dictionary(chunk.type)
        else pc.index_in(chunk, value_set=value_set)
        for chunk in column.chunks
    ]
    return pa.chunked_array(chunks, pa.int32())


def _repeated_pairs(files: pa.ChunkedArray, rows: pa.ChunkedArray) -> int:
    """How many (file, row) pairs are surplus copies. Rows are line numbers, so a count per pair over
    dense keys is cheap; where nulls or a large key range rule that out, a hash aggregate counts them."""
    if len(rows) == 0:
        return 0
    if not (files.null_count or rows.null_count or pc.min(rows).as_py() < 0):
        width = pc.max(rows).as_py() + 1
        if (pc.max(files).as_py() + 1) * width <= 50_000_000:
            keys = files.to_numpy().astype(np.int64) * width + rows.to_numpy()
            return int(len(keys) - np.count_nonzero(np.bincount(keys)))
    pairs = pa.table({"f": files, "r": rows})
    return query(
        "SELECT coalesce(sum(n - 1), 0) AS n FROM (SELECT f, r, count(*) AS n FROM pairs GROUP BY ALL)", pairs=pairs
    )["n"][0].as_py()


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


def stored_conservation(bronze_rows: int, stored: int, quarantined: int, duplicates: int = 0) -> ConservationOutcome:
    """A silver step's bronze rows = rows it stored + rows it quarantined + duplicates it removed."""
    accounted = stored + quarantined + duplicates
    problems = [] if accounted == bronze_rows else [f"{bronze_rows} bronze rows but {accounted} accounted for"]
    return ConservationOutcome(
        passed=not problems,
        expected=bronze_rows,
        accounted=accounted,
        counts={
            "bronze_rows": bronze_rows,
            "stored_rows": stored,
            "quarantined_rows": quarantined,
            "duplicates_removed": duplicates,
        },
        problems=problems,
    )
