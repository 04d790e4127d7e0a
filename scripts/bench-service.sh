#!/usr/bin/env bash
# Time from `nextstep service install` to the daemon's readiness, our side of it: the install
# command against a fake `systemctl` (which returns at once), then `nextstep run` as systemd would
# start it, up to its READY=1 on a NOTIFY_SOCKET. systemd's own start-up work is left out.
# Usage: scripts/bench-service.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-21}
cargo build --release -q
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp target/release/nextstep "$work/nextstep"
python3 - "$work" "$runs" <<'PY'
import os, socket, statistics, subprocess, sys, time
work, runs = sys.argv[1], int(sys.argv[2])
fake = os.path.join(work, "fakebin"); os.makedirs(fake)
with open(os.path.join(fake, "systemctl"), "w") as f:
    f.write("#!/bin/sh\nexit 0\n")
os.chmod(os.path.join(fake, "systemctl"), 0o755)
home = os.path.join(work, "home"); os.makedirs(home)
with open(os.path.join(work, "cal.ics"), "w") as f:
    f.write("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//b//EN\r\nEND:VCALENDAR\r\n")
config = os.path.join(work, "config.toml")
with open(config, "w") as f:
    f.write(f'[[calendars]]\nname = "b"\nkind = "ics"\npath = "{work}/cal.ics"\n')
env = dict(os.environ, HOME=home, PATH=fake + ":" + os.environ["PATH"],
           NEXTSTEP_DATA_DIR=os.path.join(work, "data"), DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent")
env.pop("XDG_CONFIG_HOME", None)
binary = os.path.join(work, "nextstep")
install, ready = [], []
for i in range(runs):
    t = time.perf_counter()
    subprocess.run([binary, "--config", config, "service", "install"], env=env, check=True, capture_output=True)
    install.append((time.perf_counter() - t) * 1000)
    sock_path = os.path.join(work, f"notify{i}.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); sock.bind(sock_path); sock.settimeout(30)
    t = time.perf_counter()
    p = subprocess.Popen([binary, "--config", config, "run"], env=dict(env, NOTIFY_SOCKET=sock_path),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while b"READY=1" not in sock.recv(4096):
        pass
    ready.append((time.perf_counter() - t) * 1000)
    p.terminate(); p.wait(); sock.close()
for name, xs in [("service install (fake systemctl)", install), ("nextstep run to READY=1", ready)]:
    print(f"{name}: median {statistics.median(xs):.1f} ms, min {min(xs):.1f}, max {max(xs):.1f} over {len(xs)} runs")
PY
