#!/usr/bin/env bash
# schemathesis against the live management API: a fresh PostgreSQL database with the demo data, an API key
# of acme bound to its hr-portal app holding every scope an owner holds and a platform key, gunicorn on
# PORT, then every operation of /api/v1/schema fuzzed for MAX_TIME seconds in all (org and app operations
# with the org key, platform ones with the platform key). Fails on any 5xx and on any response that does
# not conform to the schema (status, content type, headers, body). Called by .ci/run, which has already
# exported DATABASE_URL (its database is replaced by a scratch one here), SECRET_KEY and
# GATEHOUSE_ENCRYPTION_KEYS. Every check runs but positive_data_acceptance: it expects any string the schema
# allows as a cursor to be accepted, and a cursor is signed precisely so that made-up ones are refused (400).
#   usage: api/tests/run_schemathesis.sh [MAX_TIME] [PORT]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
MAX_TIME=${1:-120}
# A free port by default: other servers (bench, browser tests) may hold the usual ones.
PORT=${2:-$(.venv/bin/python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
DB=gatehouse_schemathesis
BASE=${DATABASE_URL%/*}
psql "$BASE/postgres" -v ON_ERROR_STOP=1 -qtA -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export DATABASE_URL="$BASE/$DB" GATEHOUSE_ISSUER="http://127.0.0.1:$PORT" CELERY_TASK_ALWAYS_EAGER=true
# --limit-request-line 0 below: gunicorn's own 414 (HTML, before Django) for request lines over 4 KB would
# hide whether the API itself refuses the over-long query values the fuzzer sends.
# The fuzzer sends thousands of requests a minute: limits would only answer 429 (which the schema allows).
export GATEHOUSE_API_RATE_LIMIT_PER_KEY=10000000 GATEHOUSE_API_RATE_LIMIT_PER_IP=10000000
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/python manage.py seed_demo --force >/dev/null
key() {  # key ARGS...: create_api_key's printed key
  .venv/bin/python manage.py create_api_key --json "$@" | .venv/bin/python -c "import json, sys; print(json.load(sys.stdin)['key'])"
}
ORG_KEY=$(key --org acme --name schemathesis --app hr-portal --scopes org.view members.view members.manage \
  groups.view groups.manage applications.view applications.manage apikeys.view apikeys.manage audit.view email.view \
  email.manage settings.manage owners.manage)
PLATFORM_KEY=$(key --platform --name schemathesis --scopes platform.view platform.manage)
.venv/bin/gunicorn config.wsgi -b "127.0.0.1:$PORT" -w 2 --threads 4 --access-logfile /dev/null \
  --limit-request-line 0 \
  --error-logfile "${TMPDIR:-/tmp}/gatehouse-schemathesis-gunicorn.log" &
GUNICORN=$!
trap 'kill "$GUNICORN" 2>/dev/null || true' EXIT
STATUS=0
# One worker: with two threads, hypothesis (inside schemathesis) parses lambdas' source in both at once, and
# CPython 3.11's AST constructor keeps its recursion depth per interpreter, not per thread, so now and then a
# run dies with "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905), as CI saw.
run() {  # run SECONDS KEY FILTER...: fuzz the operations FILTER selects with KEY
  local seconds=$1 key=$2
  shift 2
  .venv/bin/schemathesis run "http://127.0.0.1:$PORT/api/v1/schema" --wait-for-schema 30 \
    -H "Authorization: Bearer $key" --checks all --exclude-checks positive_data_acceptance \
    --max-time "$seconds" --workers 1 --suppress-health-check all --warnings off "$@" || STATUS=$?
}
# Three quarters of the time for the org's endpoints (and the app's) with the org key, the rest for the
# platform's with a platform key: each kind of key meets only 404s on the other's paths.
run $((MAX_TIME * 3 / 4)) "$ORG_KEY" --exclude-path-regex '^/api/v1/platform/'
run $((MAX_TIME - MAX_TIME * 3 / 4)) "$PLATFORM_KEY" --include-path-regex '^/api/v1/platform/'
exit $STATUS
