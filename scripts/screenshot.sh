#!/usr/bin/env bash
# What a person sees: the demo's objective prompt drawn by a real notification daemon
# (xfce4-notifyd) on a virtual screen, saved as docs/objective-prompt.png.
# Needs: apt-get install xvfb xfce4-notifyd imagemagick fonts-dejavu-core dbus-daemon
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q
out=${1:-docs/objective-prompt.png}
display=:97
work=$(mktemp -d)
bus_pid=
cleanup() { kill $(jobs -p) $bus_pid 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
Xvfb "$display" -screen 0 1300x300x24 >/dev/null 2>&1 &
dbus-daemon --config-file=tests/session-bus.conf --fork --print-address=1 --print-pid=1 > "$work/bus"
bus=$(sed -n 1p "$work/bus")
bus_pid=$(sed -n 2p "$work/bus")
export DISPLAY=$display DBUS_SESSION_BUS_ADDRESS=$bus NO_AT_BRIDGE=1
/usr/lib/x86_64-linux-gnu/xfce4/notifyd/xfce4-notifyd >/dev/null 2>&1 &
sleep 2
NEXTSTEP_DATA_DIR="$work" target/debug/nextstep demo --starts-in 600 --lasts 60 >/dev/null 2>&1 &
sleep 4
import -display "$display" -window root "$out"
# Keep the notification, not the empty screen around it.
convert "$out" -trim +repage "$out"
echo "wrote $out"
