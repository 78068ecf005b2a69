#!/usr/bin/env bash
# Packaging checks, run by .ci/run as root after the build: the systemd unit, the
# Debian package, the Ansible role. Nothing here installs anything on this machine: the
# package is installed only inside booted test hosts (tests/tests/package.rs). Needs
# systemd (systemd-analyze), lintian, ansible and ansible-lint (.ci/run installs them)
# and cargo-deb (installed here unless VIPD_DEB names a package already built).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Where cargo puts what it builds (CARGO_TARGET_DIR or ./target).
target=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

echo "== systemd unit: verify, exposure"
# verify needs the binaries the unit names to exist: a copy pointing at the built one.
cargo build -q -p vipd --bins
sed "s#/usr/sbin/vipd#$target/debug/vipd#g" packaging/systemd/vipd.service \
  >"$scratch/vipd.service"
systemd-analyze verify --man=no "$scratch/vipd.service"
exposure=$(systemd-analyze security --offline=true "$scratch/vipd.service" | tail -n 1)
echo "$exposure"
# The README records 2.1; a change to the unit that loosens it further fails.
score=$(echo "$exposure" | grep -oE '[0-9]+\.[0-9]+' | head -n 1)
if ! awk -v s="$score" 'BEGIN { exit !(s <= 2.1) }'; then
  echo "ci: the unit's exposure rose to $score (README: 2.1)" >&2
  exit 1
fi

echo "== Debian package: build, contents, lintian"
# Installed, used, removed and purged on a booted test host only (tests/tests/package.rs),
# never on the machine that runs this.
if [ -n "${VIPD_DEB:-}" ]; then
  deb=$VIPD_DEB
else
  if ! command -v cargo-deb >/dev/null 2>&1; then
    cargo install -q --locked cargo-deb
  fi
  cargo deb -p vipd
  deb=$(ls -t "$target"/debian/vipd_*.deb | head -n 1)
fi
contents=$(dpkg-deb --contents "$deb")
echo "$contents"
# The configuration ships root:vipd 0640 (postinst sets the group once the user exists).
# (Read from a variable: grep -q closing the pipe early would fail dpkg-deb with SIGPIPE.)
grep -E '^-rw-r----- (root/root|0/0) .* \./etc/vipd/vipd\.yaml$' <<<"$contents"
grep -q '/usr/share/doc/vipd/examples/systemd/realtime.conf$' <<<"$contents"
# Errors fail CI; warnings and the rest are printed.
lintian --fail-on error --info "$deb"

echo "== the Ansible role"
VIPD_BIN_DIR="${VIPD_BIN_DIR:-$target/debug}" bash packaging/ansible/ci-test.sh
