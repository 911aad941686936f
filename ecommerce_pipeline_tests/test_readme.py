"""The README documents what the code does: its contract table and configuration cannot drift."""

import re
from pathlib import Path

from ecommerce_pipeline.contract import landing_contract_markdown

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_contract_table_is_the_one_the_contract_generates():
    assert landing_contract_markdown() in README, (
        "README contract table is stale; regenerate it with: python -c "
        "'from ecommerce_pipeline.contract import landing_contract_markdown as m; print(m())'"
    )


def test_every_environment_variable_the_code_reads_is_documented():
    source = "\n".join(p.read_text() for p in (ROOT / "ecommerce_pipeline").rglob("*.py"))
    variables = set(re.findall(r"\"(ECOM_[A-Z_]+)\"", source))
    assert variables, "no ECOM_ variables found: the pattern is wrong"
    undocumented = {v for v in variables if f"`{v}`" not in README}
    assert not undocumented


def test_ci_runs_the_readme_test_command():
    command = (
        'python3 -m venv .venv && .venv/bin/pip install -e ".[dev]" && python3 -m venv .venv-checkov && '
        '.venv-checkov/bin/pip install "checkov>=3.2,<4" && .venv/bin/python -m pytest'
    )
    assert command in README
    assert command.replace("pip install", "pip install -q") in (ROOT / ".ci" / "run").read_text()
