#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, types, unit, integration, end-to-end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check gitguard tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
