#!/usr/bin/env bash
# Builds the root file system the booted test hosts run on (tests/src/hosts.rs), once:
# Debian 12 (bookworm) with systemd as PID 1, sshd, nginx and what the tests use, from
# the Debian archive this machine's apt already uses. Cached under $VIPD_E2E_CACHE
# (default /var/cache/vipd-e2e) in a directory named for its package list, so a change
# to the list builds a new one; each test host runs on an overlay of it and leaves it
# untouched. Prints the directory. Needs root and debootstrap.
set -euo pipefail
cache=${VIPD_E2E_CACHE:-/var/cache/vipd-e2e}
packages=systemd,systemd-sysv,dbus,iproute2,openssh-server,python3,python3-apt,nginx,curl,sudo,iputils-ping,libcap2-bin,procps,adduser
# Bump to rebuild after a change to the set-up below.
recipe=2
tag=$(printf '%s %s' "$packages" "$recipe" | sha256sum | cut -c1-12)
root="$cache/bookworm-$tag"
if [ -f "$root/.vipd-e2e-complete" ]; then
  echo "$root"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "build-rootfs: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$root/.vipd-e2e-complete" ]; then echo "$root"; exit 0; fi
# The archive apt uses here (deb822 sources or a classic sources.list).
mirror=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n 1 || true)
[ -n "$mirror" ] || mirror=$(grep -hsE '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n 1 || true)
[ -n "$mirror" ] || { echo "build-rootfs: no Debian archive found in /etc/apt" >&2; exit 1; }
tmp="$root.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
debootstrap --variant=minbase --include="$packages" bookworm "$tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 \
  || { tail -n 30 "$cache/debootstrap.log" >&2; exit 1; }
# The machine name (nspawn -M) becomes the hostname; each boot gets a machine id of its own.
rm -f "$tmp/etc/hostname"
: >"$tmp/etc/machine-id"
# No login prompt on the console; nothing the tests do not use.
chroot "$tmp" systemctl mask -q console-getty.service getty.target systemd-update-utmp.service \
  systemd-update-utmp-runlevel.service apt-daily.timer apt-daily-upgrade.timer 2>/dev/null || true
# sshd for Ansible: root logs in with the harness's key only.
mkdir -p "$tmp/root/.ssh"
chmod 700 "$tmp/root/.ssh"
sed -i 's/^#\?PermitRootLogin.*/PermitRootLogin prohibit-password/' "$tmp/etc/ssh/sshd_config"
# Host keys are made per boot image, not shipped in the cache's copy of the machine's.
rm -f "$tmp"/etc/ssh/ssh_host_*
chroot "$tmp" ssh-keygen -A >/dev/null
chroot "$tmp" apt-get clean
touch "$tmp/.vipd-e2e-complete"
mv "$tmp" "$root"
trap - EXIT
echo "build-rootfs: built $root in $(( $(date +%s) - start )) s" >&2
echo "$root"
