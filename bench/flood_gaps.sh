#!/usr/bin/env bash
# Own adverts under a flood (issue 13, "the hot path stays short"). Not a CI test.
# A vipd master (10 ms adverts, VRID 51) in one namespace; from the other end of a veth
# pair, bench/flood_vrrp.py floods it with VRRPv3 adverts for VRID 52 (as fast as Python
# sends: ~100 000 a second here) while tcpdump on that end notes when each of the
# master's adverts leaves. Prints the mean and largest gap between its adverts, quiet
# and flooded.   bench/flood_gaps.sh [rt]   (rt: realtime_priority 50, lock_memory)
set -euo pipefail
cd "$(dirname "$0")/.."
vipd_bin=${VIPD:-target/release/vipd}
a=vflA$$
b=vflB$$
work=$(mktemp -d /tmp/vfl.XXXXXX)
vp=
cleanup() {
  [ -n "$vp" ] && kill "$vp" 2>/dev/null && wait "$vp" 2>/dev/null
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip -n "$a" link set lo up
ip -n "$b" link set lo up
ip -n "$a" link add eth0 type veth peer name eth0 netns "$b"
ip -n "$a" addr add 192.0.2.1/24 dev eth0
ip -n "$b" addr add 192.0.2.2/24 dev eth0
ip -n "$a" link set eth0 up
ip -n "$b" link set eth0 up
{
  echo "control_socket: $work/a.sock"
  if [ "${1:-}" = rt ]; then printf 'realtime_priority: 50\nlock_memory: true\n'; fi
  printf 'instances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    priority: 200\n'
  printf '    advert_interval: 10ms\n    vips: [192.0.2.50/24]\n'
} >"$work/a.yaml"
ip netns exec "$a" "$vipd_bin" -c "$work/a.yaml" >"$work/a.log" 2>&1 &
vp=$!
sleep 1
measure() { # label, flood seconds (0: none)
  ip netns exec "$b" timeout 6 tcpdump -i eth0 -nn -tt -l 'ip proto 112 and src 192.0.2.1' \
    >"$work/$1.cap" 2>/dev/null &
  local tp=$!
  sleep 0.5
  if [ "$2" != 0 ]; then ip netns exec "$b" python3 bench/flood_vrrp.py "$2"; else sleep 5; fi
  wait "$tp" || true
  awk -v l="$1" '$1 ~ /^[0-9]+\.[0-9]+$/ { if (n) { g = ($1 - p) * 1000; if (g > m) m = g; s += g }; p = $1; n++ }
    END { printf "%s: %d adverts, mean gap %.2f ms, largest gap %.2f ms\n", l, n, s / (n - 1), m }' "$work/$1.cap"
}
measure quiet 0
measure flooded 5
