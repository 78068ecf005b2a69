#!/usr/bin/env bash
# Two-node vipd demo on a throw-away LAN of network namespaces.
#
#   sudo ./examples/demo.sh
#
# Builds a bridge and three hosts (two vipd nodes and a client) from 192.0.2.0/24,
# starts vipd on both nodes, shows `vipctl status` from each, pulls the master's
# cable, and prints the takeover and the outage a client pinging the VIP every 5 ms
# saw. Everything is removed on exit, whatever happens.
set -euo pipefail

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }

root=$(cd "$(dirname "$0")/.." && pwd)
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
if [ ${#need[@]} -gt 0 ]; then
  echo "demo: installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "demo: building vipd and vipctl"
# Under sudo, rustup's cargo (~/.cargo/bin) is not on root's PATH: build as the user who
# ran sudo, with that user's toolchain, so target/ stays theirs too.
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
  sudo -u "$SUDO_USER" env PATH="$home/.cargo/bin:$PATH" HOME="$home" \
    bash -c 'cd "$1" && cargo build --release -q -p vipd -p vipctl' _ "$root"
elif command -v cargo >/dev/null; then
  (cd "$root" && cargo build --release -q -p vipd -p vipctl)
else
  echo "demo: no cargo on PATH; install Rust with rustup (https://rustup.rs) and run: sudo $0" >&2
  exit 1
fi
bin="$root/target/release"

p="vdemo$$"            # unique prefix: several demos never collide (veth names stay ≤ 15 chars)
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.3
  for n in a b client br; do ip netns del "$p-$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# --- the LAN: one bridge namespace, one namespace per host -------------------
ip netns add "$p-br"
ip -n "$p-br" link add br0 type bridge mcast_snooping 0
ip -n "$p-br" link set br0 up
host() { # name ipv4
  local ns="$p-$1"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  local port="${p}${1:0:1}"   # bridge-side veth: prefix + first letter
  ip link add "$port" type veth peer name eth0 netns "$ns"
  ip link set "$port" netns "$p-br"
  ip -n "$p-br" link set "$port" master br0 up
  ip -n "$ns" addr add "$2/24" dev eth0
  ip -n "$ns" link set eth0 up
}
host a 192.0.2.1
host b 192.0.2.2
host client 192.0.2.100

# --- the embedded default configuration, one per node ------------------------
conf() { # node priority
  cat > "$work/$1.yaml" <<YAML
control_socket: $work/$1.sock
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: $2          # 1..255; 255 = address owner
    advert_interval: 200ms
    version: 3
    preempt: true
    vips: [192.0.2.50/24]
YAML
}
conf a 150
conf b 100

for n in a b; do
  ip netns exec "$p-$n" "$bin/vipd" --config "$work/$n.yaml" 2>"$work/$n.log" &
  pids+=($!)
done

# Wait (bounded) until one node holds the VIP.
for _ in $(seq 1 50); do
  ip -n "$p-a" -br addr show eth0 | grep -q 192.0.2.50 && break
  sleep 0.1
done

for n in a b; do
  echo
  echo "=== vipctl status on node $n"
  ip netns exec "$p-$n" "$bin/vipctl" --socket "$work/$n.sock" status
done

# --- pull the master's cable while the client pings the VIP every 5 ms -------
echo
echo "=== client pings 192.0.2.50 every 5 ms; pulling node a's cable"
ip netns exec "$p-client" ping -D -n -i 0.005 -w 4 192.0.2.50 >"$work/ping.out" 2>&1 &
ping_pid=$!
sleep 1
pulled=$(date +%s.%N)
ip -n "$p-br" link set "${p}a" down
wait "$ping_pid" || true

awk -v pulled="$pulled" '
  /bytes from/ { t = substr($1, 2, length($1) - 2) + 0; if (last && t - last > gap) { gap = t - last; at = t } last = t; n++ }
  END {
    if (n == 0) { print "demo: the client got no replies at all"; exit 1 }
    printf "client: %d replies; longest gap %.0f ms (service back %.0f ms after the cable was pulled)\n", n, gap * 1000, (at - pulled) * 1000
  }' "$work/ping.out"

echo
{ sed -n 's/^\([^ ]*\) .*vipd::daemon: \(.*\)/\1 node a: \2/p' "$work/a.log"
  sed -n 's/^\([^ ]*\) .*vipd::daemon: \(.*\)/\1 node b: \2/p' "$work/b.log"; } | grep -E "state changed|link state" | sort
echo
echo "=== vipctl status on node b after the takeover"
ip netns exec "$p-b" "$bin/vipctl" --socket "$work/b.sock" status
echo
echo "demo: done; cleaning up"
