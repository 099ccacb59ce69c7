#!/usr/bin/env bash
# The OIDC endpoint benchmark (bench/oidc.py) with the project's virtualenv; arguments pass through.
#   bench/run-oidc.sh                                 # 5 scenarios x 1, 4, 16 connections
#   bench/run-oidc.sh --scenarios cc --concurrency 4  # one cell
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec .venv/bin/python bench/oidc.py "$@"
