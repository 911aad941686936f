#!/usr/bin/env bash
# Debian's PostgreSQL server for ecommerce_pipeline_tests/test_deploy_instance.py, which starts a throw-away
# cluster with its initdb/pg_ctl (the service itself is never started).
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
fi
