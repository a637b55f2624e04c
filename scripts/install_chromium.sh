#!/usr/bin/env bash
# Install Debian's Chromium, which the trace-page test (tests/bridge/test_compare.py) drives
# headless to check that the compare-traces HTML renders both timelines. Needs root and apt.
# Nothing to do when /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install_chromium.sh: run as root (it uses apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
