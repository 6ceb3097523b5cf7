#!/usr/bin/env bash
# Set up a development machine: Python virtualenv with the project installed (and, with --test,
# the Debian packages, local PostgreSQL/Redis and node packages the tests use). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
WITH_TEST=${1:-}
PYTHON=${PYTHON:-python3}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# The build backend's notices go to a log; shown only when the install fails.
install_log=.venv/pip-install.log
target='.'
[ "$WITH_TEST" = "--test" ] && target='.[test]'
if ! .venv/bin/python -m pip install -q -e "$target" >"$install_log" 2>&1; then
  cat "$install_log" >&2
  exit 1
fi
[ "$WITH_TEST" = "--test" ] || exit 0

# Debian packages the tests need (slapd, softhsm2, chromium, wrk ...), installed when missing.
missing=()
while read -r pkg command; do
  [ -z "$pkg" ] || [[ "$pkg" == \#* ]] && continue
  if [ -n "$command" ] && { command -v "$command" >/dev/null || [ -x "/usr/sbin/$command" ]; }; then
    continue
  fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < deploy/dev/debian-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL and Redis on loopback (already running on the development machines and in CI).
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null; then
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  command -v redis-server >/dev/null || DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server >/dev/null
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
fi

# Node packages of the interop peers (package-lock.json committed; nothing else is downloaded).
while IFS= read -r lock; do
  dir=$(dirname "$lock")
  if [ ! -d "$dir/node_modules" ] || [ "$lock" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --silent --no-audit --no-fund)
  fi
done < <(find tests bench -name package-lock.json -not -path '*/node_modules/*' 2>/dev/null)
