#!/usr/bin/env bash
# False takeovers under full-machine load (issue 13). Not a CI test: it loads the whole
# machine for minutes, and its result depends on the machine.
#
# Two routers in network namespaces joined by a veth pair (192.0.2.1 master, priority
# 200; 192.0.2.2 backup, priority 100; VIP 192.0.2.50), adverts every INTERVAL. Once the
# master holds the VIP, stress-ng loads the machine for DURATION (by default 4 CPU hogs
# per core, 2 memory workers of 1 GiB, 2 I/O workers). No router fails, so every time the
# backup adds the VIP is a false takeover; the script counts them per run.
#
#   bench/stress_takeovers.sh AGENT [RUNS]
#     AGENT: vipd | vipd-rt (realtime_priority: 50, lock_memory: true)
#            | keepalived | keepalived-rt (vrrp_rt_priority 50)
#   env: INTERVAL=10ms (vipd syntax; keepalived gets the same in seconds), DURATION=30,
#        VIPD=target/release/vipd, STRESS="stress-ng arguments", RT_PRIORITY=50
#
# Output: one line per run, "AGENT INTERVAL run N: K false takeovers", and a summary.
# It takes the end-to-end tests' timing lock, so timed tests on this machine wait.
# Needs root, iproute2, stress-ng, and keepalived for the keepalived agents.
set -euo pipefail
cd "$(dirname "$0")/.."

agent=${1:?usage: $0 vipd|vipd-rt|keepalived|keepalived-rt [runs]}
runs=${2:-5}
interval=${INTERVAL:-10ms}
duration=${DURATION:-30}
vipd_bin=${VIPD:-target/release/vipd}
rt=${RT_PRIORITY:-50}
cores=$(nproc)
stress=${STRESS:---cpu $((4 * cores)) --vm 2 --vm-bytes 1G --io 2}

ms=${interval%ms}
case $interval in
  *ms) ;;
  *) echo "INTERVAL must be in ms, e.g. 10ms" >&2; exit 2 ;;
esac
secs=$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }')

ns_a=vbstA$$
ns_b=vbstB$$
work=$(mktemp -d /tmp/vbst.XXXXXX)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$ns_a" 2>/dev/null || true
  ip netns del "$ns_b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Keep timed end-to-end tests (which take this lock) off the loaded machine.
exec 9>"${TMPDIR:-/tmp}/vipd-e2e-timing.lock"
flock -x 9

ip netns add "$ns_a"
ip netns add "$ns_b"
ip -n "$ns_a" link set lo up
ip -n "$ns_b" link set lo up
ip -n "$ns_a" link add eth0 type veth peer name eth0 netns "$ns_b"
ip -n "$ns_a" addr add 192.0.2.1/24 dev eth0
ip -n "$ns_b" addr add 192.0.2.2/24 dev eth0
ip -n "$ns_a" link set eth0 up
ip -n "$ns_b" link set eth0 up

# Writes router $1's (a|b) configuration at priority $2.
config() {
  local who=$1 prio=$2
  case $agent in
    vipd | vipd-rt)
      {
        echo "control_socket: $work/$who.sock"
        if [ "$agent" = vipd-rt ]; then
          echo "realtime_priority: $rt"
          echo "lock_memory: true"
        fi
        cat <<EOF
instances:
  - name: bench
    interface: eth0
    vrid: 51
    priority: $prio
    advert_interval: $interval
    vips: [192.0.2.50/24]
EOF
      } >"$work/$who.conf"
      ;;
    keepalived | keepalived-rt)
      {
        echo "global_defs {"
        echo "  vrrp_version 3"
        [ "$agent" = keepalived-rt ] && echo "  vrrp_rt_priority $rt"
        echo "}"
        cat <<EOF
vrrp_instance bench {
  interface eth0
  virtual_router_id 51
  priority $prio
  advert_int $secs
  virtual_ipaddress {
    192.0.2.50/24
  }
}
EOF
      } >"$work/$who.conf"
      ;;
    *) echo "unknown agent $agent" >&2; exit 2 ;;
  esac
}

# Starts router $1 in namespace $2.
start() {
  local who=$1 ns=$2
  case $agent in
    vipd*) ip netns exec "$ns" "$vipd_bin" -c "$work/$who.conf" >"$work/$who.log" 2>&1 & ;;
    keepalived*)
      ip netns exec "$ns" keepalived -n -l -D -f "$work/$who.conf" \
        -p "$work/$who.pid" -r "$work/$who.vrrp.pid" -c "$work/$who.chk.pid" \
        >"$work/$who.log" 2>&1 &
      ;;
  esac
  pids+=($!)
}

# (Read whole before grep: with pipefail, grep -q leaving early could fail the pipe.)
has_vip() {
  local out
  out=$(ip -n "$1" -o addr show dev eth0)
  grep -q ' 192\.0\.2\.50/' <<<"$out"
}

# Stops both routers and clears what they may have left.
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  ip -n "$ns_a" addr del 192.0.2.50/24 dev eth0 2>/dev/null || true
  ip -n "$ns_b" addr del 192.0.2.50/24 dev eth0 2>/dev/null || true
  rm -f "$work"/*.sock "$work"/*.pid
  sleep 1
}

config a 200
config b 100
unsettled=0
total=0
results=()
for run in $(seq 1 "$runs"); do
  start a "$ns_a"
  sleep 0.5
  start b "$ns_b"
  for _ in $(seq 1 100); do
    if has_vip "$ns_a" && ! has_vip "$ns_b"; then break; fi
    sleep 0.1
  done
  if ! has_vip "$ns_a" || has_vip "$ns_b"; then
    echo "$agent $interval run $run: the master did not settle with the VIP; logs:" >&2
    tail -n 5 "$work/a.log" "$work/b.log" >&2 || true
    unsettled=$((unsettled + 1))
    stop_all
    continue
  fi
  sleep 1
  # Every address the backup adds while the load runs: one line per false takeover.
  ip -n "$ns_b" monitor address >"$work/monitor.$run" 2>&1 &
  mon=$!
  # shellcheck disable=SC2086
  stress-ng $stress --timeout "${duration}s" --quiet >/dev/null 2>&1 || true
  sleep 1
  kill "$mon" 2>/dev/null || true
  wait "$mon" 2>/dev/null || true
  n=$(grep -v '^Deleted' "$work/monitor.$run" | grep -c ' 192\.0\.2\.50/' || true)
  echo "$agent $interval run $run: $n false takeovers"
  results+=("$n")
  total=$((total + n))
  stop_all
done
echo "$agent $interval: false takeovers per ${duration} s run: ${results[*]} (total $total; $unsettled of $runs runs did not settle)"
