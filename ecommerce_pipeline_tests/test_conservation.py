import pyarrow as pa

from ecommerce_pipeline.quality.conservation import bronze_conservation, silver_conservation

from .conftest import DAY


def lineage(pairs):
    return pa.table({"_source_file": [f for f, _ in pairs], "_source_row": [r for _, r in pairs]})


def test_bronze_conservation_passes_when_every_row_is_somewhere_once():
    outcome = bronze_conservation({"a.csv": 3}, lineage([("a.csv", 2), ("a.csv", 4)]), lineage([("a.csv", 3)]))
    assert outcome.passed and outcome.expected == outcome.accounted == 3


def test_bronze_conservation_fails_on_a_lost_row():
    outcome = bronze_conservation({"a.csv": 3}, lineage([("a.csv", 2)]), lineage([("a.csv", 3)]))
    assert not outcome.passed
    assert "a.csv: 3 landing rows, 2 in bronze + quarantine" in outcome.problems


def test_bronze_conservation_fails_on_a_row_in_two_places():
    outcome = bronze_conservation({"a.csv": 2}, lineage([("a.csv", 2), ("a.csv", 3)]), lineage([("a.csv", 3)]))
    assert not outcome.passed
    assert any("more than once" in p for p in outcome.problems)


def bronze_orders(ids):
    return pa.table({"business_date": [DAY] * len(ids), "order_id": ids})


def test_silver_conservation_counts_duplicates():
    outcome = silver_conservation(bronze_orders(["O1", "O1", "O2", "O3"]), ["order_id"], kept=2, quarantined=1)
    assert outcome.passed
    assert outcome.counts == {"bronze_rows": 4, "kept_rows": 2, "quarantined_rows": 1, "duplicates_removed": 1}


def test_silver_conservation_fails_when_rows_vanish_or_double():
    assert not silver_conservation(bronze_orders(["O1", "O2", "O3"]), ["order_id"], kept=1, quarantined=1).passed
    assert not silver_conservation(bronze_orders(["O1", "O2"]), ["order_id"], kept=2, quarantined=1).passed


def test_repeated_pairs_are_counted_alike_over_dense_keys_and_by_hashing():
    from ecommerce_pipeline.quality.conservation import _repeated_pairs
    from ecommerce_pipeline.transforms.bronze import constant_column

    valid = pa.table(
        {
            "_source_file": pa.chunked_array([constant_column("a.csv", 3), constant_column("b.csv", 2)]),
            "_source_row": [2, 3, 3, 2, 2],  # a.csv row 3 twice; b.csv row 2 twice; row 2 in both files is fine
        }
    )
    outcome = bronze_conservation({"a.csv": 3, "b.csv": 2}, valid, lineage([("a.csv", 4), ("b.csv", 3)]))
    assert not outcome.passed and "2 (file, row) pairs appear more than once" in outcome.problems[0]

    files = pa.chunked_array([pa.array([0, 0, 0, 1, 1], pa.int32())])
    far = 60_000_000  # a key range too large to count densely: the hash aggregate counts instead
    assert _repeated_pairs(files, pa.chunked_array([pa.array([2, 3, 3, 2, 2])])) == 2
    assert _repeated_pairs(files, pa.chunked_array([pa.array([2, far, far, 2, 2])])) == 2
    assert _repeated_pairs(files, pa.chunked_array([pa.array([2, far, far, 2, far])])) == 1


def test_stored_conservation_accounts_every_bronze_row_once():
    from ecommerce_pipeline.quality.conservation import stored_conservation

    assert stored_conservation(10, stored=7, quarantined=2, duplicates=1).passed
    short = stored_conservation(10, stored=7, quarantined=2)
    assert not short.passed and short.problems == ["10 bronze rows but 9 accounted for"]
    assert not stored_conservation(10, stored=9, quarantined=2).passed
