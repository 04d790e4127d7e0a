#!/usr/bin/env bash
# How late prompts go out after their due time: N customer meetings whose objective prompts fall
# due one every 2 seconds, the daemon's own `late_ms` for each, then median and max.
# Usage: scripts/bench-latency.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
cargo build --release -q
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$n" > "$work/cal.ics" <<'PY'
import sys
from datetime import datetime, timedelta, timezone
n = int(sys.argv[1])
now = datetime.now(timezone.utc).replace(microsecond=0)
f = lambda t: t.strftime("%Y%m%dT%H%M%SZ")
print("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r")
for i in range(n):
    s = now + timedelta(seconds=6 + 2 * i)
    print(f"BEGIN:VEVENT\r\nUID:lat-{i}\r\nDTSTAMP:{f(now)}\r\nDTSTART:{f(s)}\r\nDTEND:{f(s + timedelta(minutes=30))}\r\n"
          f"SUMMARY:Latency {i}\r\nATTENDEE:mailto:me@mycorp.example\r\nATTENDEE:mailto:x@acme.example\r\nEND:VEVENT\r")
print("END:VCALENDAR\r")
PY
cat > "$work/config.toml" <<TOML
[identity]
emails = ["me@mycorp.example"]
internal_domains = ["mycorp.example"]
[prompts]
before = "3s"
timeout = "1s"
dialog = "none"
[[calendars]]
name = "bench"
kind = "ics"
path = "$work/cal.ics"
poll = "1h"
[ledger]
path = "$work/ledger.sqlite3"
TOML
NEXTSTEP_DATA_DIR="$work/data" NEXTSTEP_LOG=info DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent \
  target/release/nextstep --config "$work/config.toml" run 2> "$work/log" &
pid=$!
sleep $(( 6 + 2 * n ))
grep -o 'late_ms=[-0-9]*' "$work/log" | cut -d= -f2 | sort -n > "$work/late"
count=$(wc -l < "$work/late")
[ "$count" -gt 0 ] || { cat "$work/log"; exit 1; }
echo "prompts: $count; lateness after the due time (ms): median $(sed -n "$(( (count + 1) / 2 ))p" "$work/late"), max $(tail -1 "$work/late")"
