"""``ecommerce-pipeline local-aws`` and the README's AWS quickstart, run as written against the moto server it starts."""

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

from ecommerce_pipeline.ops import local_aws

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def quickstart_lines() -> list[str]:
    """The fenced block that follows "Trying it without an account" in the README."""
    section = README.split("**Trying it without an account**", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any pipeline or AWS setting, the venv's bin first (what `activate` does)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOM_", "AWS_", "DAGSTER_"))}
    return env | {"PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"} | extra


def test_local_aws_creates_what_the_variables_name_and_stop_ends_it(tmp_path):
    process, values = local_aws.start(0, tmp_path / ".local-aws")
    try:
        assert values["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        session = boto3.Session(
            region_name=values["AWS_REGION"],
            aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
        )
        endpoint = values["AWS_ENDPOINT_URL"]
        buckets = {b["Name"] for b in session.client("s3", endpoint_url=endpoint).list_buckets()["Buckets"]}
        named = {values[k].split("/")[2] for k in values if k.endswith("_URI")}
        assert (
            buckets
            == named
            == {local_aws.bucket(layer) for layer in ("landing", "bronze", "silver", "gold", "athena-results")}
        )
        glue = session.client("glue", endpoint_url=endpoint)
        assert glue.get_database(Name=values["ECOM_GLUE_DATABASE"])["Database"]["Name"] == values["ECOM_GLUE_DATABASE"]
        workgroup = session.client("athena", endpoint_url=endpoint).get_work_group(
            WorkGroup=values["ECOM_ATHENA_WORKGROUP"]
        )
        assert (
            workgroup["WorkGroup"]["Configuration"]["ResultConfiguration"]["OutputLocation"]
            == values["ECOM_ATHENA_RESULTS_URI"]
        )
        # Every setting the aws resources read is exported (the README's configuration table lists them all).
        assert {"ECOM_ENV", "ECOM_LANDING_URI", "ECOM_BRONZE_URI", "ECOM_SILVER_URI", "ECOM_GOLD_URI"} <= set(values)
        assert local_aws.exports(values).splitlines()[0] == f"export AWS_ENDPOINT_URL={endpoint}"
    finally:
        assert local_aws.stop(tmp_path / ".local-aws") == process.pid
    assert process.wait(timeout=30) is not None
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2)
    assert local_aws.stop(tmp_path / ".local-aws") is None


@pytest.mark.slow
def test_the_readme_aws_quickstart_runs_as_written_and_gives_gold_rows(tmp_path):
    install, *commands = quickstart_lines()
    assert len(commands) == 2, "the quickstart is three lines: install, start the local account, generate and run"
    # The install line is what CI has already done for this interpreter (`.[dev]` includes moto[server]).
    assert install == 'python3 -m venv .venv && .venv/bin/pip install -e ".[local-aws]" && . .venv/bin/activate'
    # A fresh clone: the project's instance configuration, nothing generated, no settings in the environment.
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    try:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", "\n".join(commands)],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        subprocess.run(
            [str(BIN / "ecommerce-pipeline"), "local-aws", "--stop"], cwd=tmp_path, env=clean_env(), check=False
        )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert re.search(
        r"Uploaded 5 file\(s\), [\d,]+ bytes, from \S+ to s3://ecommerce-pipeline-local-landing/exports", out
    )
    assert "check failed" not in out and "] FAIL" not in out and re.search(r"Run \S+ succeeded", out)
    # The run's summary: one line per gold table and currency (money is never added across currencies).
    gold: dict[str, int] = {}
    for table, rows in re.findall(
        r"^\s*(daily_sales_summary|customer_lifetime_value|product_performance|conversion_funnel)"
        r"(?: \(lifetime spent\))?\s+(?:[A-Z]{3}\s+)?(\d+)",
        out,
        re.M,
    ):
        gold[table] = gold.get(table, 0) + int(rows)
    assert set(gold) == {"daily_sales_summary", "customer_lifetime_value", "product_performance", "conversion_funnel"}
    assert all(rows > 0 for rows in gold.values()), gold
    assert (tmp_path / ".dagster").is_dir()  # the run went into the clone's own instance


@pytest.mark.parametrize("how", ["ignored", "blocked"])
def test_stop_ends_a_server_started_by_a_process_that_ignores_or_blocks_sigterm(tmp_path, how):
    # Both are inherited across exec: the full suite's process had one of them, and stop left servers running.
    if how == "ignored":
        previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        process, _ = local_aws.start(0, tmp_path / ".local-aws")
    finally:
        if how == "ignored":
            signal.signal(signal.SIGTERM, previous)
        else:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    assert local_aws.stop(tmp_path / ".local-aws") == process.pid
    try:
        assert process.wait(timeout=30) is not None
    finally:
        process.kill()
