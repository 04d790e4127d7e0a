#!/usr/bin/env bash
# Builds the Debian package with cargo-deb (`[package.metadata.deb]` in Cargo.toml), installs it
# with dpkg on this machine, checks what it installed, and removes it again. Run as root on a
# Debian machine; the tools it needs are installed when missing. The .deb stays in target/deb/.
# Usage: scripts/deb.sh [release|test-build]
#   release (default): builds the release binary and packages it; the package to ship.
#   test-build: packages the debug binary that `bash scripts/test.sh` has just built, so CI checks
#     the packaging (files, paths, dependencies, unit, man page, completions) without a release
#     build of its own (about 10 min cold): only the binary's optimisation differs from the
#     package to ship. CI runs this after the tests (.ci/run).
# What it checks: `dpkg -i` succeeds, the installed `nextstep --version` runs, the installed user
# unit passes `systemd-analyze verify`, and the man page and the bash, zsh and fish completions are
# where the package says; then `dpkg -r`.
#  - the unit is the same template `nextstep service install` renders, for /usr/bin/nextstep
#  - the man page and completions come from the binary itself (`nextstep man`, `completions`)
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-deb 3.8: one known version (packaging a dev-profile binary is deprecated in cargo-deb,
# so a newer one may refuse the test build). A debug build of it without the xz feature installs
# in a fraction of the release build's time; the package is gzip-compressed (`--fast`), as the
# check needs no small file.
CARGO_DEB_VERSION=3.8.0

mode=${1:-release}
case "$mode" in
  release) profile=release; dir=target/release; build=(cargo build --release --locked --bin nextstep) ;;
  # --all-targets: the features of the test build (dev-dependencies unify theirs), so this finds
  # the binary built and builds nothing.
  test-build) profile=dev; dir=target/debug; build=(cargo build --locked --all-targets) ;;
  *) echo "usage: scripts/deb.sh [release|test-build]" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
  echo "scripts/deb.sh installs the package with dpkg: run it as root (e.g. in CI or a container)" >&2
  exit 1
fi
need=()
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v dpkg-shlibdeps >/dev/null 2>&1 || need+=(dpkg-dev) # `depends = "$auto"`
command -v strip >/dev/null 2>&1 || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  cargo install --locked --debug --no-default-features --version "$CARGO_DEB_VERSION" cargo-deb
fi

"${build[@]}"
bin=$dir/nextstep
mkdir -p target/deb
sed 's|@EXEC_START@|/usr/bin/nextstep run|' src/service/nextstep.service.in > target/deb/nextstep.service
"$bin" man > target/deb/nextstep.1
"$bin" completions bash > target/deb/nextstep.bash
"$bin" completions zsh > target/deb/_nextstep
"$bin" completions fish > target/deb/nextstep.fish

deb=$(cargo deb --no-build --profile "$profile" --strip --fast --output target/deb/ 2> target/deb/cargo-deb.log | tail -1) \
  || { cat target/deb/cargo-deb.log >&2; exit 1; }
echo "built $deb ($mode)"

if dpkg -s nextstep >/dev/null 2>&1; then
  echo "a nextstep package is installed already; not replacing it (dpkg -r nextstep first)" >&2
  exit 1
fi
trap 'dpkg -r nextstep >/dev/null' EXIT
dpkg -i "$deb"
/usr/bin/nextstep --version
systemd-analyze verify --man=no /usr/lib/systemd/user/nextstep.service
for f in /usr/share/man/man1/nextstep.1.gz /usr/share/bash-completion/completions/nextstep \
  /usr/share/zsh/vendor-completions/_nextstep /usr/share/fish/vendor_completions.d/nextstep.fish; do
  test -s "$f" || { echo "the package did not install $f" >&2; exit 1; }
done
zcat /usr/share/man/man1/nextstep.1.gz | grep -q '^\.TH nextstep' || { echo "the man page is not nextstep's" >&2; exit 1; }
dpkg -r nextstep
trap - EXIT
test ! -e /usr/bin/nextstep || { echo "dpkg -r left /usr/bin/nextstep behind" >&2; exit 1; }
echo "the package installs, runs, its user unit verifies, and it removes cleanly"
