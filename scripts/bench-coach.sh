#!/usr/bin/env bash
# How long `nextstep report`, `report --json` and `digest` take in the release build on a ledger of
# 5,000 customer meetings over two years (250 accounts climbing the ladder, due dates, marks;
# seeded by the coach_bench test). Prints the median of RUNS runs of each command, wall clock
# from start to exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-11}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

NEXTSTEP_BENCH_LEDGER="$work/ledger.sqlite3" cargo test -q --test it -- --exact \
  coach_bench::report_and_digest_are_quick_on_5000_meetings_over_two_years >/dev/null 2>&1
cargo build -q --release --bin nextstep
printf '[ledger]\npath = "%s"\n' "$work/ledger.sqlite3" > "$work/config.toml"
export NEXTSTEP_DATA_DIR="$work/data"
for args in "report" "report --json" "digest"; do
  for _ in $(seq "$RUNS"); do
    start=$(date +%s%N)
    # shellcheck disable=SC2086 # the words of $args are the arguments
    target/release/nextstep --config "$work/config.toml" $args > /dev/null
    echo $(( ($(date +%s%N) - start) / 1000 ))
  done | sort -n | awk -v c="$args" '{a[NR]=$1} END {printf "%-16s median %.1f ms (min %.1f, max %.1f)\n", c, a[int((NR+1)/2)]/1000, a[1]/1000, a[NR]/1000}'
done
