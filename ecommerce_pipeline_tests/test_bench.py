"""The benchmark runs end to end at a tiny scale and reports what the README promises (no timing asserted)."""

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from ecommerce_pipeline.ops.local_aws import ObjectRead
from ecommerce_pipeline.tooling.bench import (
    BENCH_DAY,
    BETWEEN_STEPS,
    OLIST_DIR,
    REFERENCES,
    largest_day,
    measure_olist,
    reads_by_step,
    run_benchmark,
)
from ecommerce_pipeline.tooling.generator import generate_store
from ecommerce_pipeline.tooling.reference import GOLD_TABLES


@pytest.mark.slow
def test_the_benchmark_measures_a_day_and_a_backfill_and_writes_its_figures(tmp_path, capsys):
    output = tmp_path / "results.json"
    report = run_benchmark([300], backfill_days=2, backfill_lines=300, output=output, rounds=1, references=False)
    assert json.loads(output.read_text()) == report
    (scale,) = report["scales"]
    assert scale["landing_rows"] > scale["order_lines"] > 0 and scale["events"] > scale["order_lines"]
    assert scale["seconds"] > 0 and scale["peak_rss_mib"] > 0 and scale["bytes_written"] > 0
    assert {"bronze_events", "events_clean", "gold__customer_lifetime_value", "catalog__duckdb"} <= set(scale["steps"])
    single, per_day = report["backfills"]
    assert (single["runs"], per_day["runs"]) == (1, 2)
    # The same partitions are written either way: bytes are counted once per asset and run.
    assert single["bytes_written"] == pytest.approx(per_day["bytes_written"], rel=0.05)
    assert "Scale sweep" in capsys.readouterr().out


@pytest.mark.slow
def test_the_references_run_beside_the_pipeline_and_compute_the_same_gold(tmp_path, capsys):
    output = tmp_path / "results.json"
    report = run_benchmark(
        [300], 0, 0, output=output, rounds=1, references=True, empty_entities=["events"], empty_lines=300
    )
    assert json.loads(output.read_text()) == report
    (scale,) = report["scales"]
    assert set(scale["processes"]) == {"pipeline", *REFERENCES} and set(scale["ratios"]) == set(REFERENCES)
    for figures in scale["processes"].values():
        assert figures["wall_seconds"] > 0 and figures["cpu_seconds"] > 0 and figures["peak_rss_mib"] > 0
    # The pipeline's gold, read through the lake's DuckDB catalog, against each reference's Parquet gold.
    pipeline = scale["processes"]["pipeline"]["gold"]
    assert Decimal(pipeline["revenue"]) > 0 and pipeline["sessions"] > 0 and pipeline["customers"] > 0
    assert pipeline["revenue"] == pipeline["product_revenue"] == pipeline["customer_spend"]
    for kind in REFERENCES:
        assert scale["processes"][kind]["gold"] == pipeline, kind
        assert scale["ratios"][kind]["gold_agrees"] and scale["ratios"][kind]["wall"] > 0
    (empty,) = report["empty_entity"]
    assert empty["entity"] == "events" and {"bronze_events", "events_clean"} <= set(empty["steps"])
    out = capsys.readouterr().out
    assert "plain-DuckDB references" in out and "A day with no events files" in out


@pytest.mark.parametrize("kind", REFERENCES)
def test_a_reference_writes_the_four_gold_tables_and_same_work_every_layer(tmp_path, kind):
    generate_store(tmp_path / "landing", BENCH_DAY, BENCH_DAY, lines_per_day=200, seed=3)
    out = tmp_path / kind
    command = [sys.executable, "-m", "ecommerce_pipeline.tooling.reference", kind, str(tmp_path / "landing")]
    subprocess.run([*command, BENCH_DAY.isoformat(), str(out)], check=True)  # noqa: S603 - our own module
    assert {p.stem for p in (out / "gold").glob("*.parquet")} == set(GOLD_TABLES)
    if kind == "same_work":
        assert {"orders", "events"} <= {p.stem for p in (out / "bronze").glob("*.parquet")}
        assert {"orders_validated", "events_clean"} <= {p.stem for p in (out / "silver").glob("*.parquet")}
        import duckdb

        rules = duckdb.sql(
            f"SELECT DISTINCT rule FROM read_parquet('{out}/quarantine/*.parquet', union_by_name = true)"
        ).fetchall()
        assert rules, "the generator's defects reach the reference's quarantine"


def test_the_largest_day_is_a_linear_fit_of_peak_memory_on_lines():
    # 400 MiB + 1 MiB per 1,000 lines: 8,192 MiB at 7,792,000 lines.
    fit = largest_day([(10_000, 410.0), (100_000, 500.0), (1_000_000, 1_400.0)], budget_mib=8192)
    assert fit["largest_day_lines"] == 7_792_000
    assert (fit["intercept_mib"], fit["mib_per_million_lines"]) == (400.0, 1000.0) and len(fit["points"]) == 3
    # Least squares through points off the line: the middle one pulls the line up by a third of its offset.
    assert largest_day([(0, 0.0), (1, 3.0), (2, 2.0)], budget_mib=4)["largest_day_lines"] == 3
    assert largest_day([(10_000, 400.0)]) is None  # one scale: no line
    assert largest_day([(10_000, 400.0), (10_000, 420.0)]) is None
    assert largest_day([(10_000, 500.0), (100_000, 400.0)]) is None  # memory falling with lines: no estimate


def test_s3_reads_are_set_against_the_step_running_when_they_were_answered():
    reads = [
        ObjectRead("b/x.parquet", None, 100, at=1.5),
        ObjectRead("b/x.parquet", "bytes=0-49", 50, at=1.6),
        ObjectRead("b/x.parquet", "bytes=50-99", 50, at=2.5),
        ObjectRead("b/meta.json", None, 10, at=1.7),
        ObjectRead("b/y.parquet", "bytes=0-9", 10, at=5.0),
    ]
    steps = reads_by_step(reads, [("a", 1.0, 2.0), ("b", 2.0, 3.0)], {"b/x.parquet": 100, "b/meta.json": 10})
    assert steps["a"] == {
        "gets": 3,
        "ranged_gets": 1,
        "bytes_read": 160,
        "objects_read": 2,
        "max_gets_of_an_object": 2,
        "object_with_most_gets": "b/x.parquet",
        "objects_read_over_once": ["b/x.parquet"],
    }
    assert steps["b"]["objects_read_over_once"] == [] and steps["b"]["gets"] == 1
    assert steps[BETWEEN_STEPS]["bytes_read"] == 10


@pytest.mark.slow
def test_the_s3_measurement_reports_bytes_read_against_bytes_stored(tmp_path, capsys):
    report = run_benchmark([], 0, 0, output=tmp_path / "results.json", references=False, s3_lines=300)
    s3 = report["s3"]
    lake = s3["lake"]
    assert lake["bytes_read"] > 0 and lake["bytes_stored"] > 0 and lake["gets"] >= lake["objects_read"] > 0
    assert s3["read_over_stored"] == round(lake["bytes_read"] / lake["bytes_stored"], 3)
    assert s3["landing"]["objects_read"] == s3["landing"]["objects_stored"] > 0  # every landing file read
    # Every read of the run falls in a step or between steps, and the steps that read silver are there.
    assert sum(step["gets"] for step in s3["steps"].values()) == lake["gets"]
    assert {"orders_validated", "gold__daily_sales_summary"} <= set(s3["steps"])
    assert s3["max_gets_of_an_object_in_a_step"] >= 1
    # Each object's bytes read at most once per step: footers and Iceberg files kept, no byte range twice.
    assert s3["objects_read_over_once_in_a_step"] == s3["data_files_read_over_once_in_a_step"] == 0, {
        step: f["objects_read_over_once"] for step, f in s3["steps"].items() if f["objects_read_over_once"]
    }
    out = capsys.readouterr().out
    assert "bytes read / bytes stored in the lake" in out and "each object read once per step" in out


@pytest.mark.slow
@pytest.mark.skipif(not OLIST_DIR.is_dir(), reason="the Olist sample is not in ../shared/datasets")
def test_the_olist_sample_runs_as_one_run_over_the_days_asked_for():
    olist = measure_olist(OLIST_DIR, date(2017, 11, 20), date(2017, 11, 22))
    assert (olist["start"], olist["end"], olist["days"]) == ("2017-11-20", "2017-11-22", 3)
    assert olist["landing_rows"] > 10_000 and olist["seconds"] > 0 and olist["peak_rss_mib"] > 0
    assert "orders_validated" in olist["steps"] and olist["target_seconds"] == 60


def test_a_child_s_peak_memory_is_its_own_not_its_parent_s():
    """Linux's ``ru_maxrss`` of a child counts the parent's memory when the child started; the bench reports the
    child's own high-water mark. Here the parent holds 600 MiB and the child 100 MiB for a moment."""
    import os

    from ecommerce_pipeline.tooling.bench import _timed

    held = bytearray(600 * 2**20)
    for i in range(0, len(held), 4096):
        held[i] = 1  # resident, not only reserved
    child = "import time; x = bytearray(100 * 2**20); [x.__setitem__(i, 1) for i in range(0, len(x), 4096)]; time.sleep(0.3)"
    figures = _timed([sys.executable, "-c", child])
    _, _, usage = os.wait4(subprocess.Popen([sys.executable, "-c", child]).pid, 0)
    assert usage.ru_maxrss / 1024 > 600  # what wait4 says of the same child
    assert 100 < figures["peak_rss_mib"] < 300
    del held
