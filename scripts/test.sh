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
# one pytest-xdist worker a core (at most 4; SSAMBA_TEST_WORKERS overrides, 0 runs in this process): most of the
# suite's time is Triton-interpreter tests, single-threaded, so on the 2-core CI box two workers take it from
# ~31 to ~18 minutes (measured 2026-12-04). worksteal: the long interpreter tests do not pile up on one worker.
workers="${SSAMBA_TEST_WORKERS:-$(nproc)}"
if ! [[ "$workers" =~ ^[0-9]+$ ]]; then
  echo "[test] SSAMBA_TEST_WORKERS must be a whole number of workers (0: one process), got '$workers'" >&2
  exit 2
fi
[ "$workers" -gt 4 ] && workers=4
python -m pytest -q -p no:cacheprovider -n "$workers" --dist worksteal "$@"
