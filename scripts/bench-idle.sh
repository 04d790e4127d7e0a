#!/usr/bin/env bash
# Idle footprint of `nextstep run` after the first poll of a 2,000-event calendar:
# resident memory (VmRSS, and the peak VmHWM), private memory (Private_Clean + Private_Dirty from
# /proc/PID/smaps_rollup: what this process alone costs, shared library pages left out) and CPU
# time used while idle.
# Usage: [SHAPE=history] [SOURCE=url] [PIE=no] scripts/bench-idle.sh [EVENTS] [IDLE_SECONDS]
#   PIE=no links the release binary position-dependent (-no-pie), as builds before issue 13 did,
#   for the side-by-side figure; the dependencies are shared with the normal build, only the link
#   differs. RELR=no links the relative relocations unpacked (build.rs), as builds before did.
#   BIN=path measures that binary instead of building one (to compare builds kept aside).
#   MALLOC_ARENA_MAX and other variables in the environment reach the daemon.
#   SHAPE: see gen-calendar.py. SOURCE=url serves the file over loopback HTTP instead of reading
#   it as a path, so the figure includes the HTTP/TLS stack a published feed needs.
#   DESKTOP=fake runs the daemon against a private D-Bus with the tests' fake notification server
#   (examples/fake_desktop.rs), so it holds a bus connection and a shown prompt as on a desktop;
#   otherwise the bus address leads nowhere and prompts wait for a notification server.
#   WEB=off turns the answer page off (`[web] enabled = false`); by default it is served on a free
#   port, so the two figures tell what the page costs.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-2000}
idle=${2:-30}
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
if [ -n "${BIN:-}" ]; then
  cp "$BIN" "$work/nextstep"
elif [ "${RELR:-yes}" = no ]; then
  NEXTSTEP_NO_RELR=1 cargo rustc --release -q --bin nextstep
  cp target/release/nextstep "$work/nextstep"
elif [ "${PIE:-yes}" = no ]; then
  cargo rustc --release -q --bin nextstep -- -C link-arg=-no-pie
  cp target/release/nextstep "$work/nextstep"
else
  cargo rustc --release -q --bin nextstep
  cp target/release/nextstep "$work/nextstep"
fi
echo "binary: $(file -b "$work/nextstep" | cut -d, -f1-2)"
python3 scripts/gen-calendar.py "$events" > "$work/cal.ics"
location="path = \"$work/cal.ics\""
if [ "${SOURCE:-path}" = url ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
  server=$!
  trap 'kill "${pid:-}" "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
  for _ in $(seq 1 50); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  location="url = \"http://127.0.0.1:$port/cal.ics\""
fi
web="port = 0"
[ "${WEB:-on}" = off ] && web="enabled = false"
cat > "$work/config.toml" <<TOML
[identity]
emails = ["me@mycorp.example"]
internal_domains = ["mycorp.example"]
[[calendars]]
name = "bench"
kind = "ics"
$location
poll = "1h"
[ledger]
path = "$work/ledger.sqlite3"
[web]
$web
TOML
bus=unix:path=/nonexistent
if [ "${DESKTOP:-none}" = fake ]; then
  cargo build -q --release --example fake_desktop --target-dir target/bench
  mkfifo "$work/desktop-in"
  target/bench/release/examples/fake_desktop < "$work/desktop-in" > "$work/desktop-out" 2>/dev/null &
  exec 9> "$work/desktop-in" # held open: closing it (at exit) stops the fake desktop
  for _ in $(seq 1 100); do [ -s "$work/desktop-out" ] && break; sleep 0.1; done
  bus=$(head -1 "$work/desktop-out")
fi
NEXTSTEP_DATA_DIR="$work/data" NEXTSTEP_LOG=info DBUS_SESSION_BUS_ADDRESS="$bus" \
  "$work/nextstep" --config "$work/config.toml" run 2> "$work/log" &
pid=$!
for _ in $(seq 1 600); do grep -q "polled" "$work/log" 2>/dev/null && break; sleep 0.1; done
grep -q "polled" "$work/log" || { cat "$work/log"; echo "no poll"; exit 1; }
sleep 2
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
before=$(ticks)
sleep "$idle"
after=$(ticks)
hz=$(getconf CLK_TCK)
echo "calendar: $events VEVENTs ($(grep -o 'meetings=[0-9]*' "$work/log" | tail -1) in the window)"
grep -E 'VmRSS|VmHWM' "/proc/$pid/status"
awk '/^Private_(Clean|Dirty):/ { kb += $2 } END { printf "Private:\t%8d kB (Private_Clean + Private_Dirty)\n", kb }' "/proc/$pid/smaps_rollup"
echo "CPU while idle for ${idle}s: $(( (after - before) * 1000 / hz )) ms"
echo "prompts shown: $(grep -c 'showing prompt' "$work/log"); waiting for a notification server: $(grep -c 'no notification server' "$work/log")"
