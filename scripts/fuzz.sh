#!/usr/bin/env bash
# Runs every fuzz target (tests/it/fuzz.rs) for SECS seconds of mutation each (default 60), one
# after the other, and prints one line per target: executions, time, slowest input, peak memory.
# NEXTSTEP_FUZZ_SEED picks another mutation sequence (the default one is fixed, so runs repeat).
# A failing input is saved under target/fuzz-failures/; add it to tests/fuzz/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXTSTEP_FUZZ_SECS="${SECS:-60}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --test it -E 'test(/^fuzz::/)' --test-threads 1 --no-capture >"$log" 2>&1 || status=$?
else
  cargo test --test it fuzz:: -- --test-threads 1 --nocapture >"$log" 2>&1 || status=$?
fi
grep -E '^fuzz |panicked|saved to' "$log" || true
if [ "$status" -ne 0 ]; then
  echo "fuzzing failed (exit $status); full log:" >&2
  tail -50 "$log" >&2
fi
exit "$status"
