#!/usr/bin/env bash
# Packaging checks, run by .ci/run as root after the build: the systemd unit, the
# Debian package, the Ansible role. Needs systemd (systemd-analyze), lintian, man-db,
# ansible and ansible-lint (.ci/run installs them) and cargo-deb (installed here).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "== systemd unit: verify, exposure"
# verify needs the binaries the unit names to exist: a copy pointing at the built one.
cargo build -q -p vipd --bins
sed "s#/usr/sbin/vipd#$PWD/target/debug/vipd#g" packaging/systemd/vipd.service \
  >"$scratch/vipd.service"
systemd-analyze verify --man=no "$scratch/vipd.service"
exposure=$(systemd-analyze security --offline=true "$scratch/vipd.service" | tail -n 1)
echo "$exposure"
# The README records 1.8; a change to the unit that loosens it past 2.0 fails.
score=$(echo "$exposure" | grep -oE '[0-9]+\.[0-9]+' | head -n 1)
if ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
  echo "ci: the unit's exposure rose to $score (README: 1.8)" >&2
  exit 1
fi

echo "== the Ansible role"
bash packaging/ansible/ci-test.sh
