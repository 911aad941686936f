#!/usr/bin/env bash
# CI cannot build the image (no registry), so this proves what the Dockerfile does, the same way: the files it
# COPYs into a clean build folder, its pip install into a fresh virtualenv, and its three entry commands
# (webserver, daemon, run worker) from the runtime's working folder, with DAGSTER_HOME holding
# deploy/aws/dagster.yaml. Then the definitions load from that install (nothing from the repository's folder).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python="${PYTHON:-python3}"

# build stage: COPY pyproject.toml README.md ./ ; COPY ecommerce_pipeline ./ecommerce_pipeline
mkdir -p "$work/src" "$work/app" "$work/home"
cp "$repo/pyproject.toml" "$repo/README.md" "$work/src/"
cp -r "$repo/ecommerce_pipeline" "$work/src/ecommerce_pipeline"
# runtime stage: COPY deploy/aws/dagster.yaml /opt/dagster/home/dagster.yaml ; COPY workspace.yaml /opt/dagster/app/
cp "$repo/deploy/aws/dagster.yaml" "$work/home/dagster.yaml"
cp "$repo/workspace.yaml" "$work/app/workspace.yaml"

cd "$work/src"
"$python" -m venv "$work/venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# The Dockerfile's RUN line, word for word (test_image.py checks they agree):
"$work/venv/bin/pip" install --no-cache-dir . >"$work/pip.log" 2>&1 || { tail -30 "$work/pip.log"; exit 1; }
rm -rf "$work/src/build"

cd "$work/app"
export PATH="$work/venv/bin:$PATH" DAGSTER_HOME="$work/home" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
unset PYTHONPATH
# The instance's plugins import from the install: PostgreSQL storage, S3 compute logs, the ECS run launcher.
python -c "import dagster_postgres, dagster_aws.ecs, dagster_aws.s3.compute_log_manager, ecommerce_pipeline; print('imports ok:', ecommerce_pipeline.__file__)"
python -c "import ecommerce_pipeline, sys; sys.exit(0 if '$work/venv' in ecommerce_pipeline.__file__ else 'ecommerce_pipeline imported from outside the install')"
# The three entry commands exist and parse their arguments.
dagster-webserver --help >/dev/null
dagster-daemon run --help >/dev/null
dagster api execute_run --help >/dev/null
# The code location the webserver and the daemon load (workspace.yaml), from the installed package. The instance
# of DAGSTER_HOME needs the RDS database and ECS, so this runs on a temporary instance; test_deploy_instance.py
# loads deploy/aws/dagster.yaml itself against a real PostgreSQL and moto.
env -u DAGSTER_HOME dagster definitions validate -w workspace.yaml
# ... and as the ECS tasks load it: ECOM_ENV=aws with the variables infra/main.tf gives them (no AWS call at load).
env -u DAGSTER_HOME ECOM_ENV=aws AWS_REGION=eu-west-1 ECOM_LANDING_URI=s3://smoke-landing ECOM_BRONZE_URI=s3://smoke-bronze \
    ECOM_SILVER_URI=s3://smoke-silver ECOM_GOLD_URI=s3://smoke-gold ECOM_ATHENA_RESULTS_URI=s3://smoke-results/results/ \
    ECOM_GLUE_DATABASE=ecommerce_analytics_smoke ECOM_ATHENA_WORKGROUP=smoke \
    dagster definitions validate -w workspace.yaml
echo "image smoke: install and entry commands OK"
