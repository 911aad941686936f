#!/usr/bin/env bash
# CI: Apache Superset for the dashboard tests, in a virtualenv of its own (.venv-superset) so its pins never
# meet the pipeline's. `ecommerce-pipeline dashboard` installs the same requirements on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
python3 -m venv .venv-superset
.venv-superset/bin/pip install -q -r ecommerce_pipeline/dashboards/requirements.txt \
    -c ecommerce_pipeline/dashboards/constraints.txt
echo "Superset installed in $(( $(date +%s) - started ))s ($(du -sh .venv-superset | cut -f1) on disk)"
