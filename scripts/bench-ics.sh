#!/usr/bin/env bash
# Benchmark of the ICS path (read + parse + expand 12,000 VEVENTs over 30 days).
# Builds the example in release, generates the file once, runs it RUNS times (default 7) under
# /usr/bin/time -v, and prints the median wall time and the peak RSS.
# Target (issue): under 0.2 s and under 50 MiB. Python icalendar + recurring_ical_events: 8.5 s / 254 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${RUNS:-7}"
file="${BENCH_ICS_FILE:-${TMPDIR:-/tmp}/nextstep-bench-12000.ics}"

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (needed for peak RSS)" >&2
    apt-get install -y --no-install-recommends time >/dev/null
fi

# Its own target directory: an example build turns on the dev-dependencies' features, and sharing
# target/release with the daemon's benchmarks would rebuild the whole tree on every switch.
cargo build --release --quiet --example bench_ics --target-dir target/bench
bin=target/bench/release/examples/bench_ics
[ -s "$file" ] || "$bin" generate "$file"

walls=()
rss=()
for i in $(seq "$runs"); do
    out=$( { /usr/bin/time -v "$bin" run "$file" >/tmp/bench-ics-stdout.$$; } 2>&1 )
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' <<<"$out")
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' <<<"$out")
    # m:ss.cc -> seconds
    secs=$(awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }' <<<"$wall")
    walls+=("$secs")
    rss+=("$kb")
    echo "run $i: ${secs}s, $((kb / 1024)) MiB peak RSS; $(cat /tmp/bench-ics-stdout.$$)"
done
rm -f /tmp/bench-ics-stdout.$$

median=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
echo "median wall time: ${median}s over $runs runs; peak RSS: $((peak / 1024)) MiB ($peak KiB)"
