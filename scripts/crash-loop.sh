#!/usr/bin/env bash
# The crash loop of issue 10 at full length: the daemon SIGKILLed at random points of
# show -> click -> write, KILLS times (default 200) on one ledger (tests/it/crash_loop.rs), then
# the figures: kills, notifications clicked, answers acknowledged, lost, doubled, integrity, and the
# prompts left open and shown again after the last restart. RESHOWN=1 also runs the re-show check.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXTSTEP_CRASH_KILLS="${KILLS:-200}"
filter='test(/^crash_loop::killing/)'
extra=()
if [ "${RESHOWN:-0}" = 1 ]; then
  filter='test(/^crash_loop::/)'
  extra=(--run-ignored all)
fi
cargo nextest run --test it -E "$filter" "${extra[@]}" --no-fail-fast --no-capture 2>&1 |
  grep -E '^crash loop:|PASS|FAIL|panicked'
