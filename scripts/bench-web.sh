#!/usr/bin/env bash
# How long the answer page takes to render home, a meeting and the report in the release build,
# on a ledger of 5,000 customer meetings over two years (seeded by the web_bench test). Prints
# the median of RUNS requests of each page, as curl measures them (connect to last byte).
#
# To compare builds under the same load (the machine may be shared), give several binaries:
# `BINS="/tmp/nextstep-before target/release/nextstep" scripts/bench-web.sh` serves the same
# ledger from each and alternates their requests. `LEDGER=PATH` reuses a seeded ledger.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-11}"
work="$(mktemp -d)"
serves=()
trap 'for p in "${serves[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

if [ -z "${LEDGER:-}" ]; then
  LEDGER="$work/ledger.sqlite3"
  NEXTSTEP_BENCH_LEDGER="$LEDGER" cargo test -q --test it -- --exact \
    web_bench::home_meeting_and_report_render_quickly_on_5000_meetings_over_two_years >/dev/null
fi
if [ -z "${BINS:-}" ]; then
  cargo build -q --release --bin nextstep
  BINS=target/release/nextstep
fi
last="$(sqlite3 "$LEDGER" 'SELECT id FROM meetings ORDER BY start DESC LIMIT 1' 2>/dev/null \
  || echo 'work/m4999/single')"
pages=("/" "/meeting?id=${last//\//%2F}" "/report")

# One `serve` per binary, each with its own data folder and a copy of the ledger.
n=0
declare -a bases tokens names
for bin in $BINS; do
  d="$work/$n"; mkdir -p "$d"
  cp "$LEDGER" "$d/ledger.sqlite3"
  printf '[ledger]\npath = "%s"\n\n[web]\nport = 0\n' "$d/ledger.sqlite3" > "$d/config.toml"
  NEXTSTEP_DATA_DIR="$d/data" "$bin" --config "$d/config.toml" serve > "$d/serve.out" &
  serves+=("$!")
  for _ in $(seq 100); do [ -s "$d/data/web.json" ] && break; sleep 0.1; done
  url="$(NEXTSTEP_DATA_DIR="$d/data" "$bin" --config "$d/config.toml" open --print)"
  base="${url%%\?*}"; bases[n]="${base%/}"
  tokens[n]="${url##*token=}"
  names[n]="$bin"
  n=$((n + 1))
done

for page in "${pages[@]}"; do
  for _ in $(seq "$RUNS"); do
    for i in $(seq 0 $((n - 1))); do
      curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: nextstep_token=${tokens[i]}" \
        "${bases[i]}$page" >> "$work/times.$i"
    done
  done
  for i in $(seq 0 $((n - 1))); do
    label="$page"; [ "$n" -gt 1 ] && label="$page (${names[i]})"
    sort -n "$work/times.$i" | awk -v p="$label" '{a[NR]=$1} END {printf "%-40s median %.1f ms (min %.1f, max %.1f)\n", p, a[int((NR+1)/2)]*1000, a[1]*1000, a[NR]*1000}'
    rm "$work/times.$i"
  done
done
