"""Static security checks run with the tests, so CI fails on a finding of medium severity or above."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_bandit_finds_nothing_of_medium_severity_or_above():
    proc = subprocess.run(
        [str(BIN / "bandit"), "-c", "pyproject.toml", "-r", "ecommerce_pipeline", "--severity-level", "medium", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_with_its_security_rules_passes():
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]  # flake8-bandit rules stay on
    proc = subprocess.run(
        [str(BIN / "ruff"), "check", "ecommerce_pipeline"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
