#!/usr/bin/env bash
# Builds the Debian package with cargo-deb, installs it with dpkg on this machine (CI), and checks
# the installed binary and user unit. Run as root on a Debian machine; cargo-deb is installed when
# missing.
#  - the unit is the same template `nextstep service install` renders, for /usr/bin/nextstep
#  - the man page and completions come from the binary itself (`nextstep man`, `completions`)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null 2>&1 || cargo install --locked cargo-deb
if ! command -v systemd-analyze >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd
fi

cargo build --release --locked
mkdir -p target/deb
sed 's|@EXEC_START@|/usr/bin/nextstep run|' src/service/nextstep.service.in > target/deb/nextstep.service
target/release/nextstep man > target/deb/nextstep.1
target/release/nextstep completions bash > target/deb/nextstep.bash
target/release/nextstep completions zsh > target/deb/_nextstep
target/release/nextstep completions fish > target/deb/nextstep.fish

deb=$(cargo deb --no-build --output target/deb/ | tail -1)
echo "built $deb"
dpkg -i "$deb"
/usr/bin/nextstep --version
systemd-analyze verify --man=no /usr/lib/systemd/user/nextstep.service
test -s /usr/share/man/man1/nextstep.1 || test -s /usr/share/man/man1/nextstep.1.gz
test -s /usr/share/bash-completion/completions/nextstep
echo "the package installs, runs, and its user unit verifies"
