#!/usr/bin/env bash
# How long the answer page takes to render home, a meeting and the report in the release build,
# on a ledger of 5,000 customer meetings over two years (seeded by the web_bench test). Prints
# the median of RUNS requests of each page, as curl measures them (connect to last byte).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-11}"
work="$(mktemp -d)"
trap 'kill "${serve:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

NEXTSTEP_BENCH_LEDGER="$work/ledger.sqlite3" cargo test -q --test it -- --exact \
  web_bench::home_meeting_and_report_render_quickly_on_5000_meetings_over_two_years >/dev/null
cargo build -q --release --bin nextstep
printf '[ledger]\npath = "%s"\n\n[web]\nport = 0\n' "$work/ledger.sqlite3" > "$work/config.toml"
NEXTSTEP_DATA_DIR="$work/data" target/release/nextstep --config "$work/config.toml" serve \
  > "$work/serve.out" &
serve=$!
for _ in $(seq 100); do [ -s "$work/data/web.json" ] && break; sleep 0.1; done
export NEXTSTEP_DATA_DIR="$work/data"
url="$(target/release/nextstep --config "$work/config.toml" open --print)"
base="${url%%\?*}"; base="${base%/}"
token="${url##*token=}"
last="$(sqlite3 "$work/ledger.sqlite3" 'SELECT id FROM meetings ORDER BY start DESC LIMIT 1' 2>/dev/null \
  || echo 'work/m4999/single')"
for page in "/" "/meeting?id=${last//\//%2F}" "/report"; do
  for _ in $(seq "$RUNS"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: nextstep_token=$token" "$base$page"
  done | sort -n | awk -v p="$page" '{a[NR]=$1} END {printf "%-40s median %.1f ms (min %.1f, max %.1f)\n", p, a[int((NR+1)/2)]*1000, a[1]*1000, a[NR]*1000}'
done
