#!/usr/bin/env bash
# The test command (README): sets up what the tests need on a fresh machine, then runs them all.
#  - dbus-daemon (Debian package dbus-daemon) for the private session bus of the notification tests
#  - systemd-analyze (Debian package systemd) to verify the user unit `service install` writes
#  - chromium and chromium-driver (Debian packages) for the answer page's browser tests
#  - Radicale 3.9 from PyPI in .venv/ for the CalDAV tests
#  - cargo-nextest when present (parallel, one process per test), else cargo test
# Nothing is skipped: a missing part makes the tests fail, loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dbus-daemon >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends dbus-daemon
  else
    echo "dbus-daemon is missing: install it (Debian/Ubuntu: sudo apt-get install dbus-daemon)" >&2
    exit 1
  fi
fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd
  else
    echo "systemd-analyze is missing: install it (Debian/Ubuntu: sudo apt-get install systemd)" >&2
    exit 1
  fi
fi

if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver
  else
    echo "chromium or chromedriver is missing: install them (Debian/Ubuntu: sudo apt-get install chromium chromium-driver)" >&2
    exit 1
  fi
fi

RADICALE_VERSION=3.9.0
if ! .venv/bin/python -c "import radicale, sys; sys.exit(radicale.VERSION != '$RADICALE_VERSION')" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q "radicale==$RADICALE_VERSION"
fi
export NEXTSTEP_RADICALE_PYTHON="$PWD/.venv/bin/python"
# The tests' fakes and servers run on loopback only; CI=true makes a missing part an error.
export CI="${CI:-true}"

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-targets --no-fail-fast "$@"
  # nextest does not run doctests.
  cargo test --doc -q
else
  cargo test --all-targets --no-fail-fast "$@"
fi
