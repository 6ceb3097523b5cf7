#!/usr/bin/env bash
# The one command that sets up and runs the identity provider on the embedded default
# (SQLite and keys under ./var, in-process state) with the demo relying parties and account.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/dev/setup.sh
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}  # argon2 buffers otherwise stay in per-thread arenas
exec .venv/bin/idp serve --demo "$@"
