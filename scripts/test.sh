#!/usr/bin/env bash
# The whole test suite (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-90}"
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
# Lint and format check first: a style slip fails in a second, before the 4-minute suite.
python3 -m ruff check --quiet .
python3 -m ruff format --check --quiet .
# Two workers by default (ANNEX_TEST_WORKERS=0 for one process): the suite waits on LibreOffice,
# Prefect servers and SMTP as much as it computes, so the two overlap (measured here: 534 tests in
# 8 min on 2 workers, where one process took 7.7 min for 452). --dist loadfile keeps a file's tests on one worker, so its module fixtures are built once.
# The suite uses no pytest-benchmark fixture (bench/ has its own command): its plugin stays off.
exec python3 -m pytest -n "${ANNEX_TEST_WORKERS:-2}" --dist loadfile -p no:benchmark "$@"
