"""The command line: run, sql and demo, against temp folders and a temp Dagster instance."""

import dagster as dg
import pytest

from ecommerce_pipeline.cli import main


def test_run_materializes_records_the_run_and_prints_progress(project_env, store_landing, capsys):
    (store_landing / "refunds" / "2025-01-01").mkdir(parents=True)
    (store_landing / "refunds" / "2025-01-01" / "refunds.csv").write_bytes(b"refund_id\nR1\n")
    assert main(["run", "--start", "2025-01-01"]) == 0
    out = capsys.readouterr().out
    assert "[15/15] ok   catalog/duckdb" in out
    assert "check failed" not in out and "Root cause" not in out
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


@pytest.mark.slow
def test_a_failure_prints_its_root_cause_not_the_retry_wrapper(project_env, store_landing, monkeypatch, capsys):
    import ecommerce_pipeline.defs.gold.assets as gold

    def broken(_):
        raise KeyError("product_category")  # retried by the step's RetryPolicy, then reported

    monkeypatch.setattr(gold.sales, "daily_sales_summary", broken)
    assert main(["run", "--start", "2025-01-01"]) == 1
    out = capsys.readouterr().out
    # The first retry already says why; the failure and the run summary give the exception and where.
    assert "retrying gold/daily_sales_summary: KeyError: 'product_category' (at defs/gold/assets.py:" in out
    cause = "gold/daily_sales_summary: KeyError: 'product_category' (at defs/gold/assets.py:"
    assert "FAIL gold/daily_sales_summary" in out and f"         {cause}" in out
    assert f"Root cause: {cause}" in out
    assert "Exceeded max_retries" not in out


def test_a_day_without_landing_files_fails_landing_received(project_env, store_landing, capsys):
    # 2025-01-01 has the store's files, 2025-01-02 has nothing at all: a green run would hide a missed export.
    assert main(["run", "--start", "2025-01-01", "--end", "2025-01-02"]) == 1
    out = capsys.readouterr().out
    assert "ok   bronze/orders" in out  # non-blocking: the day is still materialized, every step runs
    assert "[15/15]" in out and "] FAIL" not in out
    assert "check failed: bronze/orders:landing_received: no landing files at all for 2025-01-02 under" in out
    assert "FAILED" in out and "Failed checks: bronze/orders:landing_received" in out


def test_run_on_aws_without_the_locations_and_region_says_what_is_missing(project_env, monkeypatch, capsys):
    for name in ("ECOM_LANDING_URI", "ECOM_BRONZE_URI", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(project_env / "no-aws-config"))
    monkeypatch.setenv("ECOM_ENV", "aws")
    monkeypatch.setenv("ECOM_SILVER_URI", "s3://silver")
    monkeypatch.setenv("ECOM_GOLD_URI", "s3://gold")
    assert main(["run", "--start", "2025-01-01"]) == 2
    err = capsys.readouterr().err
    assert "ECOM_LANDING_URI is not set" in err and "ECOM_BRONZE_URI is not set" in err
    assert "ECOM_SILVER_URI" not in err and "no AWS region: set AWS_REGION" in err and "local-aws" in err


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
    from ecommerce_pipeline.defs.bronze.landing_received import landing_checks

    run_level = [c for c in checks if c.partition is None]
    expected = sum(len(list(a.check_specs)) for a in [*lake_assets, *landing_checks])
    assert len(run_level) == expected and all(c.passed for c in checks)
    # Every check of the days' data (all but the landing folder's unused paths, which belong to no day) is
    # also evaluated for each day of the run on its own.
    per_day = {(c.asset_key.to_user_string(), c.check_name, c.partition) for c in checks if c.partition}
    days = ("2025-01-01", "2025-01-02", "2025-01-03")
    declared = [k for a in [*lake_assets, *landing_checks] for k in a.check_keys if k.name != "landing_unused_files"]
    assert len(declared) == 19
    assert per_day == {(k.asset_key.to_user_string(), k.name, d) for k in declared for d in days}
    conservation = [c for c in checks if "conservation" in c.check_name]
    assert all(c.metadata["unaccounted_rows"].value == 0 for c in conservation)
    assert any(c.metadata.get("quarantined_rows") and c.metadata["quarantined_rows"].value > 0 for c in conservation)
    # Facts by the date they happened (every generated order and event is dated within its landing day in
    # UTC); lifetime value is one snapshot, as of the last day.
    for table, days in (("daily_sales_summary", "3"), ("product_performance", "3"), ("conversion_funnel", "3"),
                        ("customer_lifetime_value", "1")):  # fmt: skip
        assert main(["sql", f"SELECT count(DISTINCT business_date) AS days FROM gold.{table}"]) == 0
        assert capsys.readouterr().out.split()[1] == days, table


def test_a_demo_run_with_deprecations_as_errors_prints_no_warning(project_env):
    """Issue 15's done-when: the demo (generate, then run two days) under ``-W error::DeprecationWarning``
    finishes and prints no warning: no deprecated API of Dagster, pyiceberg or any other library is used."""
    import os
    import subprocess
    import sys

    strict = [sys.executable, "-W", "error::DeprecationWarning", "-W", "error::PendingDeprecationWarning", "-m"]
    for args in (
        ["generate", "--start", "2025-01-01", "--end", "2025-01-02", "--lines-per-day", "200", "--seed", "3"],
        ["run", "--start", "2025-01-01", "--end", "2025-01-02"],
    ):
        proc = subprocess.run(
            [*strict, "ecommerce_pipeline.cli", *args], capture_output=True, text=True, env=dict(os.environ)
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "Warning" not in proc.stderr and "Warning" not in proc.stdout, proc.stderr[-2000:]
