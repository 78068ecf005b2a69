#!/usr/bin/env bash
# CI for the Ansible role (run as root by packaging/check.sh): ansible-lint; the example
# playbook and inventory run with a local connection for both hosts, each rendering
# into its own directory (no package, no service); a second run changes nothing; then
# the two rendered configurations start two vipd in network namespaces joined by a veth
# pair, and the host with the higher priority (web1, 150) must win.
set -euo pipefail
cd "$(dirname "$0")"
vipd=${VIPD_BIN_DIR:-$PWD/../../target/debug}/vipd
vipctl=${VIPD_BIN_DIR:-$PWD/../../target/debug}/vipctl
scratch=$(mktemp -d)
ns=vansible-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns-web1" 2>/dev/null || true
  ip netns del "$ns-web2" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

echo "-- ansible-lint"
ansible-lint -p --nocolor

cat >"$scratch/ci-vars.yml" <<VARS
vipd_install: false
vipd_manage_service: false
vipd_config_dir: "$scratch/{{ inventory_hostname }}"
vipd_control_socket: "$scratch/{{ inventory_hostname }}/vipd.sock"
vipd_state_dir: "$scratch/{{ inventory_hostname }}/state"
vipd_config_group: root
vipd_binary: $vipd
ansible_connection: local
ansible_python_interpreter: /usr/bin/python3
VARS
play() { ansible-playbook -i inventory.example.yml site.yml -e "@$scratch/ci-vars.yml"; }

echo "-- the playbook renders both hosts' configurations"
play | tee "$scratch/run1" | tail -n 4
grep -qE '^web1 .*changed=[1-9]' "$scratch/run1"
grep -qE '^web2 .*changed=[1-9]' "$scratch/run1"
echo "-- a second run changes nothing"
play | tee "$scratch/run2" | tail -n 4
if grep -E '^web[12] ' "$scratch/run2" | grep -vq 'changed=0'; then
  echo "ci: the second playbook run changed something" >&2
  exit 1
fi

echo "-- the rendered configurations elect web1 (priority 150)"
ip netns add "$ns-web1"
ip netns add "$ns-web2"
ip -n "$ns-web1" link add eth0 type veth peer name eth0 netns "$ns-web2"
for h in web1 web2; do
  n=$([ "$h" = web1 ] && echo 11 || echo 12)
  ip -n "$ns-$h" addr add "192.0.2.$n/24" dev eth0
  ip -n "$ns-$h" link set lo up
  ip -n "$ns-$h" link set eth0 up
  ip netns exec "$ns-$h" "$vipd" --config "$scratch/$h/vipd.yaml" >"$scratch/$h.log" 2>&1 &
  pids+=($!)
done
holds() { ip -n "$ns-$1" -br addr show dev eth0 | grep -qw '192.0.2.50/24'; }
won=0
for _ in $(seq 1 100); do
  if holds web1 && ! holds web2; then won=1; break; fi
  sleep 0.1
done
# Still so a second later (web2 does not take it too).
sleep 1
if [ "$won" -ne 1 ] || ! holds web1 || holds web2; then
  echo "ci: web1 (150) should hold 192.0.2.50 alone" >&2
  ip -n "$ns-web1" -br addr; ip -n "$ns-web2" -br addr
  cat "$scratch/web1.log" "$scratch/web2.log" >&2
  exit 1
fi
"$vipctl" --socket "$scratch/web1/vipd.sock" status | tee "$scratch/st1"
"$vipctl" --socket "$scratch/web2/vipd.sock" status | tee "$scratch/st2"
grep -qE '^ *state: master' "$scratch/st1"
grep -qE '^ *state: backup' "$scratch/st2"
echo "ci: the Ansible role renders configurations that elect the higher priority"
