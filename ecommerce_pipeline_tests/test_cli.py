"""The command line: run, sql and demo, against temp folders and a temp Dagster instance."""

import dagster as dg
import pytest

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.contract import ENTITIES


def test_run_materializes_records_the_run_and_prints_progress(project_env, store_landing, capsys):
    (store_landing / "refunds" / "2025-01-01").mkdir(parents=True)
    (store_landing / "refunds" / "2025-01-01" / "refunds.csv").write_bytes(b"refund_id\nR1\n")
    assert main(["run", "--start", "2025-01-01"]) == 0
    out = capsys.readouterr().out
    assert "[14/14] ok   catalog/duckdb" in out
    # A landing path the run did not read is listed, with the reason.
    assert "Landing paths not used (1" in out and "refunds/2025-01-01/refunds.csv: not read: " in out
    # O1 130 + O5 105 + O3 60 + O4 20 (unknown customer, kept); O2 cancelled
    assert "daily_sales_summary" in out and "315.00" in out
    assert "invalid_email" in out  # the quarantine summary: C3's e-mail, a field issue
    assert "unknown_customer" not in out  # no longer a quarantine rule
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].is_success
        assert runs[0].tags["dagster/asset_partition_range_start"] == "2025-01-01"


def test_sql_prints_a_table(project_env, store_landing, capsys):
    main(["run", "--start", "2025-01-01"])
    capsys.readouterr()
    assert main(["sql", "SELECT product_category, total_revenue FROM gold.daily_sales_summary ORDER BY 2 DESC"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["product_category", "total_revenue"]
    assert "electronics" in out and "(4 rows)" in out
    assert out.splitlines()[1].split() == ["electronics", "190.00"]  # O1's P1 line 90 + O5's 100


def test_sql_reports_errors_without_a_traceback(project_env, store_landing, capsys):
    main(["run", "--start", "2025-01-01"])
    assert main(["sql", "SELECT * FROM gold.no_such_table"]) == 1
    assert "no_such_table" in capsys.readouterr().err


def test_run_outside_the_partitions_is_refused(project_env, capsys):
    assert main(["run", "--start", "2019-01-01"]) == 2
    assert "not a partition" in capsys.readouterr().err


def test_a_failing_run_exits_non_zero(project_env, store_landing, monkeypatch, capsys):
    import ecommerce_pipeline.defs.gold.assets as gold

    def broken(_):
        raise dg.Failure("boom", allow_retries=False)  # not retriable, so the test does not wait for backoff

    monkeypatch.setattr(gold.sales, "daily_sales_summary", broken)
    assert main(["run", "--start", "2025-01-01"]) == 1
    out = capsys.readouterr().out
    assert "FAIL gold/daily_sales_summary" in out and "FAILED" in out


@pytest.mark.parametrize("bad", ["2025-13-01", "yesterday"])
def test_dates_are_validated(bad, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--start", bad])
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_generate_then_run_a_range_accounts_for_every_row(project_env, capsys):
    assert (
        main(["generate", "--start", "2025-01-01", "--end", "2025-01-03", "--lines-per-day", "300", "--seed", "3"]) == 0
    )
    assert main(["run", "--start", "2025-01-01", "--end", "2025-01-03"]) == 0
    out = capsys.readouterr().out
    assert "check failed" not in out and "succeeded" in out
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        checks = [
            e.asset_check_evaluation
            for e in instance.all_logs(run.run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
        ]
    from ecommerce_pipeline.definitions import lake_assets

    run_level = [c for c in checks if c.partition is None]
    assert len(run_level) == sum(len(list(a.check_specs)) for a in lake_assets) and all(c.passed for c in checks)
    # Bronze's conservation and gold's schema checks are also evaluated for each day of the run on its own.
    per_day = {(c.asset_key.to_user_string(), c.check_name, c.partition) for c in checks if c.partition}
    days = ("2025-01-01", "2025-01-02", "2025-01-03")
    assert per_day == {(f"bronze/{e}", "row_conservation", d) for e in ENTITIES for d in days} | {
        (f"gold/{t}", "schema", d)
        for t in ("daily_sales_summary", "product_performance", "conversion_funnel")
        for d in days
    }
    conservation = [c for c in checks if "conservation" in c.check_name]
    assert all(c.metadata["unaccounted_rows"].value == 0 for c in conservation)
    assert any(c.metadata.get("quarantined_rows") and c.metadata["quarantined_rows"].value > 0 for c in conservation)
    # Facts by the date they happened (every generated order and event is dated within its landing day in
    # UTC); lifetime value is one snapshot, as of the last day.
    for table, days in (("daily_sales_summary", "3"), ("product_performance", "3"), ("conversion_funnel", "3"),
                        ("customer_lifetime_value", "1")):  # fmt: skip
        assert main(["sql", f"SELECT count(DISTINCT business_date) AS days FROM gold.{table}"]) == 0
        assert capsys.readouterr().out.split()[1] == days, table
