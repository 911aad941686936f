"""The benchmark runs end to end at a tiny scale and reports what the README promises (no timing asserted)."""

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from ecommerce_pipeline.tooling.bench import BENCH_DAY, REFERENCES, run_benchmark
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
