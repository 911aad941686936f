"""Real click events nobody here wrote: the public REES46 sample through the pipeline, against pandas."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.contract import FUNNEL_STAGES
from ecommerce_pipeline.tooling.rees46 import convert_rees46

from .conftest import local_run_env, run_in_own_process

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "datasets" / "rees46_events_sample" / "events_2019-10-01.csv"
DAY = "2019-10-01"


def test_rees46_rows_are_renamed_never_decided():
    raw = pd.DataFrame(
        {
            "event_time": ["2019-10-01 00:00:00 UTC", "2019-10-01 23:59:59 UTC", "2019-10-01 00:00:05 UTC"],
            "event_type": ["view", "remove_from_cart", "cart"],
            "product_id": ["44600062", "3900821", "17200506"],
            "user_id": ["541312140", "554748717", "519107250"],
            "user_session": ["s-1", "", "s-1"],
        }
    )
    events = convert_rees46(raw, "events_2019-10-01")
    assert events["event_id"].tolist() == ["events_2019-10-01:1", "events_2019-10-01:2", "events_2019-10-01:3"]
    # An unknown type and a blank session are passed through for bronze to quarantine with file and row.
    assert events["event_type"].tolist() == ["product_view", "remove_from_cart", "add_to_cart"]
    assert events["session_id"].tolist() == ["s-1", "", "s-1"]
    assert events["event_ts"].tolist()[1] == "2019-10-01T23:59:59+00:00"
    assert events["customer_id"].tolist()[0] == "541312140"
    with pytest.raises(ValueError, match="missing user_session"):
        convert_rees46(raw.drop(columns="user_session"), "x")


def expected_funnel(raw: pd.DataFrame) -> dict[str, int]:
    """Sessions reaching each stage, computed from the raw export with pandas: a session reaches a stage when
    it has an event of that stage or a later one."""
    stage = raw["event_type"].map({"view": "product_view", "cart": "add_to_cart", "purchase": "purchase"})
    rank = stage.map({s: i for i, s in enumerate(FUNNEL_STAGES)})
    furthest = rank.groupby(raw["user_session"]).max()
    return {"sessions": len(furthest)} | {
        f"{s}_sessions": int((furthest >= i).sum()) for i, s in enumerate(FUNNEL_STAGES)
    }


@pytest.mark.slow
@pytest.mark.skipif(not SAMPLE.exists(), reason=f"the REES46 sample is not at {SAMPLE}")
def test_rees46_day_through_the_pipeline_matches_pandas(tmp_path, capsys):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    assert main(["import-rees46", str(SAMPLE), "--to", str(landing)]) == 0
    assert f"events {DAY}        1,000 rows" in capsys.readouterr().out
    # A day with only events is still a complete day (no orders is a valid day), and every check passes.
    run_in_own_process(local_run_env(tmp_path, landing, lake, DAY), DAY, DAY)

    raw = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    with duckdb.connect(str(lake / "catalog.duckdb"), read_only=True) as con:
        # Every row of the export is an event in silver, once; none was quarantined or invented.
        stored = con.execute("SELECT count(*), count(DISTINCT event_id) FROM silver.events_clean").fetchone()
        quarantined = con.execute("SELECT count(*) FROM quarantine.bronze_events").fetchone()[0]
        assert stored == (len(raw), len(raw)) and quarantined == 0
        by_type = dict(con.execute("SELECT event_type, count(*) FROM silver.events_clean GROUP BY 1").fetchall())
        assert by_type == {"product_view": 987, "add_to_cart": 3, "purchase": 10}
        columns = ["sessions", *(f"{s}_sessions" for s in FUNNEL_STAGES)]
        row = con.execute(
            f"SELECT {', '.join(columns)} FROM gold.conversion_funnel "
            f"WHERE business_date = DATE '{DAY}' AND device_type = 'all'"
        ).fetchone()
    assert dict(zip(columns, row)) == expected_funnel(raw)
    assert row[0] == raw["user_session"].nunique() == 372
