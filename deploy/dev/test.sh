#!/usr/bin/env bash
# The one command that sets up and runs every test: lint (ruff), types (mypy), then pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/dev/setup.sh --test
export IDP_TEST_POSTGRES_URL=${IDP_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
export IDP_TEST_REDIS_URL=${IDP_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/pytest --durations=40 "$@"
