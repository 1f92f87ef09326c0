#!/usr/bin/env bash
# Set gitguard up on a fresh Debian machine: .venv with its Python dependencies; with --test
# also the test tools and the Debian packages the tests run for real (sshd, rsync, AIDE,
# WordPress, Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v git >/dev/null || packages+=(git)
command -v ssh-keygen >/dev/null || packages+=(openssh-client)
if [ "${1:-}" = "--test" ]; then
  # mariadb-server and -client: the CMS database tests start their own unprivileged server
  # nagios4-core, icinga2-bin, zabbix-agent (has zabbix_sender), zabbix-frontend-php and
  # php-cli (Zabbix's own import validator): contrib/ checked by the programs that read it
  for pkg in openssh-server rsync aide wordpress chromium time mariadb-server mariadb-client \
             nagios4-core icinga2-bin icinga2-common zabbix-agent zabbix-frontend-php php-cli; do
    dpkg -s "$pkg" >/dev/null 2>&1 || packages+=("$pkg")
  done
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${packages[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Some test packages are daemons (nagios4, zabbix-agent, mariadb): the tests start their
  # own, so none is started as a system service while it installs (policy-rc.d, 101: no).
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$guard" >/dev/null
    $sudo chmod 755 "$guard"
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null \
    || { [ -z "$guard" ] || $sudo rm -f "$guard"; exit 1; }
  [ -z "$guard" ] || $sudo rm -f "$guard"
fi

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup: gitguard needs Python 3.11 or newer" >&2; exit 1; }
[ -x .venv/bin/python ] || python3 -m venv .venv
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
# compat: a plain path in a .pth file; the default editable mode installs an import hook
# that costs every gitguard run 20 ms of start-up.
.venv/bin/pip install -q --disable-pip-version-check -e ".${extra}" \
  --config-settings editable_mode=compat 2>&1 \
  | grep -v "^WARNING: Location" || true
# Byte-compile, as installing a package does: where PYTHONDONTWRITEBYTECODE is set, every
# run would otherwise compile gitguard's modules again (50 ms of each start).
.venv/bin/python -m compileall -q gitguard >/dev/null
.venv/bin/python -c 'import gitguard, paramiko, playwright, PIL' \
  || { echo "setup: the Python dependencies did not install" >&2; exit 1; }
