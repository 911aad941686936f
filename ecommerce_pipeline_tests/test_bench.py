"""The benchmark runs end to end at a tiny scale and reports what the README promises (no timing asserted)."""

import json

import pytest

from ecommerce_pipeline.tooling.bench import run_benchmark


@pytest.mark.slow
def test_the_benchmark_measures_a_day_and_a_backfill_and_writes_its_figures(tmp_path, capsys):
    output = tmp_path / "results.json"
    report = run_benchmark([300], backfill_days=2, backfill_lines=300, output=output)
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
