#!/bin/sh
# First-sync and quiet-poll figures of the CalDAV source against a local Radicale.
# Usage: scripts/bench-caldav.sh [EVENTS]   (default 5000; needs .venv with radicale)
set -eu
cd "$(dirname "$0")/.."
NEXTSTEP_CALDAV_BENCH_EVENTS="${1:-5000}" \
    cargo test --release --test it caldav::a_large_calendar_arrives_in_a_few_requests -- --nocapture 2>&1 \
    | grep -E "caldav bench|test result|panicked"
