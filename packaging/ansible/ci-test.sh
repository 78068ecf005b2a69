#!/usr/bin/env bash
# CI for the Ansible role (run as root by packaging/check.sh): ansible-lint; then the
# example playbook and inventory, for each host with a local connection inside a network
# namespace of its own that has the host's address (so `vipd --check` sees what the host
# would see, metrics.listen included), each rendering into its own temp dir (no package,
# no service, no users); a second run changes nothing; a broken variable fails the play
# at validation and leaves the file as it was; then the two rendered configurations run:
# web1 (150) must win while its (stand-in) nginx is up, web2 must take over when it dies.
set -euo pipefail
cd "$(dirname "$0")"
vipd=${VIPD_BIN_DIR:-$PWD/../../target/debug}/vipd
vipctl=${VIPD_BIN_DIR:-$PWD/../../target/debug}/vipctl
scratch=$(mktemp -d)
ns=vansible-$$
pids=()
declare -A nginx
# The inventory's operator_group; the role creates it here (and this script removes it
# again unless it was there before).
operator_group=vipd-operators
made_group=0
getent group "$operator_group" >/dev/null || made_group=1
cleanup() {
  for p in "${pids[@]}" "${nginx[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns-web1" 2>/dev/null || true
  ip netns del "$ns-web2" 2>/dev/null || true
  if [ "$made_group" -eq 1 ] && getent group "$operator_group" >/dev/null; then
    groupdel "$operator_group" || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() {
  echo "ci: $*" >&2
  exit 1
}

echo "-- ansible-lint"
ansible-lint -p --nocolor

echo "-- two hosts: network namespaces joined by a veth pair, each with a stand-in nginx"
ip netns add "$ns-web1"
ip netns add "$ns-web2"
ip -n "$ns-web1" link add eth0 type veth peer name eth0 netns "$ns-web2"
mkdir -p "$scratch/www"
echo ok >"$scratch/www/index.html"
for h in web1 web2; do
  n=$([ "$h" = web1 ] && echo 11 || echo 12)
  ip -n "$ns-$h" addr add "192.0.2.$n/24" dev eth0
  ip -n "$ns-$h" link set lo up
  ip -n "$ns-$h" link set eth0 up
  mkdir -p "$scratch/$h"
  # What the inventory's checks look at: a process by its pidfile, and
  # http://127.0.0.1/ answering 200 (each namespace has its own loopback).
  ip netns exec "$ns-$h" python3 -m http.server 80 --bind 127.0.0.1 \
    --directory "$scratch/www" >"$scratch/$h-nginx.log" 2>&1 &
  nginx[$h]=$!
  echo "${nginx[$h]}" >"$scratch/$h/nginx.pid"
done

# The inventory's variables as they are, except: paths into the temp dir (the key
# files follow vipd_config_dir), no package, service or users to manage (the operator
# group is still created), the files owned by root, and the process checks' pidfiles
# pointing at the stand-in's (this host has no /run/nginx.pid of its own).
cat >"$scratch/ci-vars.yml" <<VARS
vipd_install: false
vipd_manage_service: false
vipd_operator_users: []
vipd_user: root
vipd_group: root
vipd_config_dir: "$scratch/{{ inventory_hostname }}"
vipd_control_socket: "$scratch/{{ inventory_hostname }}/vipd.sock"
vipd_state_dir: "$scratch/{{ inventory_hostname }}/state"
vipd_binary: $vipd
ansible_connection: local
ansible_python_interpreter: /usr/bin/python3
VARS
python3 - "$scratch" >"$scratch/ci-checks.json" <<'PY'
import json, sys, yaml
inv = yaml.safe_load(open("inventory.example.yml"))
checks = inv["all"]["children"]["vipd"]["vars"]["vipd_checks"]
for c in checks.values():
    if "process" in c:
        c["process"]["pidfile"] = sys.argv[1] + "/{{ inventory_hostname }}/nginx.pid"
print(json.dumps({"vipd_checks": checks}))
PY
# One host's play, run inside its namespace.
play() {
  local h=$1
  shift
  ip netns exec "$ns-$h" ansible-playbook -i inventory.example.yml site.yml --limit "$h" \
    -e "@$scratch/ci-vars.yml" -e "@$scratch/ci-checks.json" "$@"
}

echo "-- the playbook renders both hosts' configurations"
for h in web1 web2; do
  play "$h" >"$scratch/run1-$h" 2>&1 || { cat "$scratch/run1-$h" >&2; fail "$h: the first run failed"; }
  tail -n 3 "$scratch/run1-$h"
  grep -qE "^$h .*changed=[1-9]" "$scratch/run1-$h" || fail "$h: the first run changed nothing"
done
echo "-- a second run changes nothing"
for h in web1 web2; do
  play "$h" >"$scratch/run2-$h" 2>&1 || { cat "$scratch/run2-$h" >&2; fail "$h: the second run failed"; }
  tail -n 3 "$scratch/run2-$h"
  grep -qE "^$h .*changed=0 .*failed=0" "$scratch/run2-$h" || fail "$h: the second run changed something"
done

echo "-- what was rendered: vipd --check, the inventory's variables, the key file"
for h in web1 web2; do
  ip netns exec "$ns-$h" "$vipd" --config "$scratch/$h/vipd.yaml" --check
  key="$scratch/$h/web.key"
  [ "$(stat -c '%a %U %G' "$key")" = "600 root root" ] || fail "$key: $(stat -c '%a %U %G' "$key")"
  python3 - "$h" "$scratch/$h/vipd.yaml" "$scratch" <<'PY'
import sys, yaml
h, path, scratch = sys.argv[1:]
other = {"web1": "web2", "web2": "web1"}[h]
ip = {"web1": "192.0.2.11", "web2": "192.0.2.12"}
cfg = yaml.safe_load(open(path))
want_order = ["control_socket", "state_dir", "log_level", "operator_group", "metrics", "cluster_peers", "checks", "instances"]
assert list(cfg) == want_order, f"{h}: top-level keys {list(cfg)}"
assert cfg["operator_group"] == "vipd-operators", cfg["operator_group"]
assert cfg["metrics"] == {"listen": ip[h] + ":9650"}, cfg["metrics"]
assert cfg["cluster_peers"] == [{"name": other, "address": ip[other] + ":9650"}], cfg["cluster_peers"]
assert cfg["checks"]["nginx"]["process"] == {"pidfile": f"{scratch}/{h}/nginx.pid"}, cfg["checks"]
assert cfg["checks"]["nginx_http"]["http"] == "http://127.0.0.1/", cfg["checks"]
(inst,) = cfg["instances"]
assert list(inst)[:4] == ["name", "interface", "vrid", "priority"], list(inst)
assert inst["priority"] == {"web1": 150, "web2": 100}[h], inst
assert inst["track"] == ["nginx", "nginx_http"], inst
assert inst["auth"] == {"key_file": f"{scratch}/{h}/web.key"}, inst
print(f"{h}: rendered as the inventory says")
PY
done
getent group "$operator_group" >/dev/null || fail "the role did not create the group $operator_group"

echo "-- a broken variable (vrid 0) fails the play at validation; the file stays as it was"
before=$(stat -c '%Y %s' "$scratch/web1/vipd.yaml")$(sha256sum <"$scratch/web1/vipd.yaml")
if play web1 -e '{"vipd_instances": [{"name": "web", "interface": "eth0", "vrid": 0, "vips": ["192.0.2.50/24"]}]}' \
  >"$scratch/run-broken" 2>&1; then
  cat "$scratch/run-broken" >&2
  fail "the play with vrid 0 succeeded"
fi
grep -q 'instances\[0\]\.vrid: 0 is out of range' "$scratch/run-broken" || {
  cat "$scratch/run-broken" >&2
  fail "the failed play does not show vipd --check's error"
}
grep -qE '^web1 .*changed=0 .*failed=1' "$scratch/run-broken" || fail "the broken play changed something"
after=$(stat -c '%Y %s' "$scratch/web1/vipd.yaml")$(sha256sum <"$scratch/web1/vipd.yaml")
[ "$before" = "$after" ] || fail "the broken play touched $scratch/web1/vipd.yaml"

echo "-- vipd_priority from the command line (a string there) is rendered as a number"
play web2 -e vipd_priority=120 >"$scratch/run-prio" 2>&1 || { cat "$scratch/run-prio" >&2; fail "web2: the run with -e vipd_priority=120 failed"; }
tail -n 3 "$scratch/run-prio"
grep -qx '  priority: 120' "$scratch/web2/vipd.yaml" || fail "web2: -e vipd_priority=120 not rendered"
play web2 >/dev/null

echo "-- the rendered configurations elect web1 (priority 150)"
for h in web1 web2; do
  ip netns exec "$ns-$h" "$vipd" --config "$scratch/$h/vipd.yaml" >"$scratch/$h.log" 2>&1 &
  pids+=($!)
done
holds() { ip -n "$ns-$1" -br addr show dev eth0 | grep -qw '192.0.2.50/24'; }
# Waits up to 10 s until $1 holds the VIP and $2 does not, then for a second more.
alone() {
  local won=0
  for _ in $(seq 1 100); do
    if holds "$1" && ! holds "$2"; then won=1; break; fi
    sleep 0.1
  done
  sleep 1
  if [ "$won" -ne 1 ] || ! holds "$1" || holds "$2"; then
    ip -n "$ns-web1" -br addr; ip -n "$ns-web2" -br addr
    cat "$scratch/web1.log" "$scratch/web2.log" >&2
    fail "$1 should hold 192.0.2.50 alone"
  fi
}
alone web1 web2
"$vipctl" --socket "$scratch/web1/vipd.sock" status | tee "$scratch/st1"
"$vipctl" --socket "$scratch/web2/vipd.sock" status | tee "$scratch/st2"
grep -qE '^ *state: master' "$scratch/st1" || fail "web1 is not master"
grep -qE '^ *state: backup' "$scratch/st2" || fail "web2 is not backup"
echo "-- metrics and peers: web1 sees the whole cluster, nothing flagged"
ip netns exec "$ns-web1" "$vipctl" --socket "$scratch/web1/vipd.sock" status --cluster \
  | tee "$scratch/cluster"
grep -qE '^web2 +web +backup' "$scratch/cluster" || fail "web2 missing from the cluster view"

echo "-- web1's nginx dies: web2 takes the VIP"
kill "${nginx[web1]}"
alone web2 web1
"$vipctl" --socket "$scratch/web1/vipd.sock" status | tee "$scratch/st1"
grep -qE '^ *state: fault' "$scratch/st1" || fail "web1 is not in fault"
echo "ci: the Ansible role renders configurations that elect the higher priority and follow nginx"
