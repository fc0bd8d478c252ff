#!/usr/bin/env bash
# The README's test command: installs what the suite needs on a fresh machine, then runs the whole suite
# (unit tests, notebooks under papermill + nbval, and the browser test in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
SSAMBA_EXTRAS="notebooks,demo,cpu,dev" source scripts/setup_env.sh

if [ ! -x /usr/bin/chromium ]; then
  echo "[test] installing Debian chromium for the browser test"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export SSAMBA_REQUIRE_BROWSER=1   # the browser test fails (rather than skips) if Chromium cannot run
export SSAMBA_SLOW_TESTS=1       # also the full-length (1024-frame) released-layout check
export PYTHONHASHSEED=0
python -m pytest -q -p no:cacheprovider "$@"
