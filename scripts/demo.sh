#!/usr/bin/env bash
# Set gitguard up and run the main job on the bundled sample site (a local path, no server):
# back it up, approve it, deface it, catch the defacement, restore, verify, report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
gg="$PWD/.venv/bin/gitguard"
work="${GITGUARD_DEMO_DIR:-$(mktemp -d /tmp/gitguard-demo.XXXXXX)}"
mkdir -p "$work"
rm -rf "$work/site" "$work/gitguard-data"
cp -a sample/site "$work/site"
[ -f "$work/kasubbag" ] || ssh-keygen -q -t ed25519 -N "" -C "demo kasubbag" -f "$work/kasubbag"
sed -e "s|@SIGNING_KEY@|$(cat "$work/kasubbag.pub")|" sample/gitguard.toml > "$work/gitguard.toml"
cd "$work"
step() { printf '\n\033[1m== %s\033[0m\n$ gitguard %s\n' "$1" "${*:2}"; }
run() { set +e; "$gg" "$@"; rc=$?; set -e; echo "(exit $rc)"; }

step "0. create the site repository, check the source is reachable" init
run init
step "1. first backup and check: no approved baseline yet (WARNING)" check
run check
step "2. the kasubbag signs the backup as the approved state" approve sample -m "..." --key kasubbag
run approve sample -m "Initial approved state of the sample site" --key kasubbag
step "3. scheduled check: all clear (OK)" check
run check
echo '<html><body><h1>Hacked by Demo Team</h1></body></html>' > site/index.html
mkdir -p site/wp-content/uploads/2026/12
echo '<?php eval(base64_decode($_POST["c"])); ?>' > site/wp-content/uploads/2026/12/cache.php
step "4. the site was defaced and a webshell dropped: check catches it (CRITICAL)" check -o laporan-keadaan.md
run check -o laporan-keadaan.md
if "$gg" restore --help >/dev/null 2>&1; then
  step "5. restore the approved state, keeping the evidence" restore sample --yes
  run restore sample --yes
  step "6. verify" verify sample
  run verify sample
fi
step "7. the activity report for the Kepala Bagian (Markdown and print-ready HTML)" report sample --kind activity --format md,html -o laporan.md
run report sample --kind activity --format md,html -o laporan.md
step "history for the auditors" log sample
run log sample
echo
echo "Work folder: $work"
echo "  site/                      the sample site, restored"
echo "  gitguard-data/sample.git   the evidence: git --git-dir $work/gitguard-data/sample.git log --all"
echo "  laporan-keadaan.md         the state and damage report of step 4"
echo "  laporan-activity.md/.html  the activity report (open the .html in a browser, print to A4)"
