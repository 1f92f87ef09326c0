#!/usr/bin/env bash
# Set gitguard up and run the main job on the bundled sample site (a local path, no server):
# back it up, approve it, deface it, catch the defacement, restore, verify, report
# (`gitguard demo` does it; this script sets gitguard up first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
gg="$PWD/.venv/bin/gitguard"
# `gitguard demo` runs the whole procedure on the sample site that ships inside the package;
# GITGUARD_DEMO_DIR reuses a folder (its site and repository are made anew, its key kept).
if [ -n "${GITGUARD_DEMO_DIR:-}" ]; then
  rm -rf "$GITGUARD_DEMO_DIR/site" "$GITGUARD_DEMO_DIR/gitguard-data"
  exec "$gg" demo --dir "$GITGUARD_DEMO_DIR"
fi
exec "$gg" demo
