#!/usr/bin/env bash
# Regenerate deploy/requirements.lock (the container image's pinned, hashed dependencies) from
# pyproject.toml's main dependencies: run after changing them. Needs pip-tools in the virtualenv
# (.venv/bin/pip install pip-tools). The image installs with --require-hashes from this file only.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
  --no-header --output-file deploy/requirements.lock pyproject.toml
