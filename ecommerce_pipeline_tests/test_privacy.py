"""Personal data stays where the README says: never in gold, never in the run's logs or asset metadata."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from ecommerce_pipeline.cli import main
from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.storage.lake import LocalLake
from ecommerce_pipeline.storage.tables import local_table_store

GOLD = ("daily_sales_summary", "customer_lifetime_value", "product_performance", "conversion_funnel")
PII = set(ENTITIES["customers"].pii_columns)


@pytest.fixture
def generated_run(project_env, capsys):
    args = ["--start", "2025-01-01", "--end", "2025-01-02"]
    assert main(["generate", *args, "--lines-per-day", "300", "--seed", "11", "--defect-rate", "0.05"]) == 0
    assert main(["run", *args]) == 0
    landed = pd.concat(
        pd.read_csv(f, dtype=str, keep_default_na=False) for f in (project_env / "landing" / "customers").rglob("*.csv")
    )
    lake = LocalLake(project_env / "lake")
    tables = local_table_store(project_env / "lake")
    silver = tables.read("silver/customers_clean")
    return {"landed": landed, "silver": silver, "lake": lake, "tables": tables, "stdout": capsys.readouterr().out}


def personal_values(landed: pd.DataFrame, silver: pa.Table) -> dict[str, set[str]]:
    def values(column) -> set[str]:
        return {v.strip() for v in column if isinstance(v, str) and v.strip()}

    emails = values(landed["email"]) | values(landed["email"].str.lower()) | values(silver.column("email").to_pylist())
    phones = values(landed["phone"]) | values(silver.column("phone").to_pylist())
    names = values(landed["first_name"] + " " + landed["last_name"])
    return {"email": emails, "phone": phones, "name": names}


def test_gold_tables_hold_no_personal_data(generated_run):
    found = personal_values(generated_run["landed"], generated_run["silver"])
    assert all(len(v) > 100 for v in found.values())  # the store really has e-mails, phones and names
    first_names = {v.strip() for v in generated_run["landed"]["first_name"] if v.strip()}
    last_names = {v.strip() for v in generated_run["landed"]["last_name"] if v.strip()}
    everything = found["email"] | found["phone"] | found["name"] | first_names | last_names
    for table in GOLD:
        gold = generated_run["tables"].read(f"gold/{table}")
        assert gold is not None and gold.num_rows > 0
        assert not PII & set(gold.column_names), table
        for name in gold.column_names:
            if pa.types.is_string(gold.column(name).type):
                leaked = everything & set(gold.column(name).to_pylist())
                assert not leaked, f"gold.{table}.{name} holds personal data: {sorted(leaked)[:3]}"


def test_no_personal_data_in_logs_metadata_or_cli_output(generated_run):
    found = personal_values(generated_run["landed"], generated_run["silver"])
    # Positive control: the same search finds them in bronze, where they are allowed to live.
    bronze = generated_run["lake"].read_partition("bronze/customers", pd.Timestamp("2025-01-01").date())
    assert found["email"] & set(bronze.column("email").to_pylist())

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        texts = [dg.serialize_value(event) for event in instance.all_logs(run.run_id)]
    assert any("failing_rows" in t or "quarantined_rows" in t for t in texts)  # metadata really is in the log
    texts.append(generated_run["stdout"])
    for kind, values in found.items():
        for text in texts:
            leaked = [v for v in values if v in text]
            assert not leaked, f"{kind} printed in the run's log or output: {leaked[:3]}"
