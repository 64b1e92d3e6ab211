#!/usr/bin/env bash
# Stops and deletes the local cluster started by up.sh (all its processes and its state dir)
# and removes its kubeconfig. Same environment variables as up.sh (CLUSTER_NAME,
# KUBECONFIG_OUT, CLUSTER_WORKDIR). Safe to run when nothing is running.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

name="${CLUSTER_NAME:-journal}"
kubeconfig_out="${KUBECONFIG_OUT:-$repo/.local/kubeconfig}"
workdir="${CLUSTER_WORKDIR:-$repo/.local/cluster}"

log() { printf '[down] %s\n' "$*" >&2; }

if [[ ! -d "$workdir" ]]; then
  log "no cluster state in $workdir; nothing to do"
  rm -f "$kubeconfig_out"
  exit 0
fi
workdir="$(cd "$workdir" && pwd)"
export KWOK_WORKDIR="$workdir/kwok"
cluster_dir="$KWOK_WORKDIR/clusters/$name"

exec 8>"$workdir/.$name.lock"
flock 8

# Kill the component processes by the pid files kwokctl keeps (also the fallback when kwokctl
# itself is gone). Only processes whose executable lives in this cluster's dir are signalled,
# so a stale pid file never hits an unrelated process that reused the pid.
kill_pids() {
  local f pid sig exe hit=0
  shopt -s nullglob
  for sig in TERM KILL; do
    (( hit == 0 )) && [[ "$sig" == KILL ]] && break
    for f in "$cluster_dir"/pids/*.pid; do
      pid="$(cat "$f" 2>/dev/null || true)"
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      exe="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)"
      [[ "$exe" == "$cluster_dir/"* ]] || continue
      kill "-$sig" "$pid" 2>/dev/null && hit=1
    done
    if [[ "$sig" == TERM ]] && (( hit )); then sleep 2; fi
  done
  shopt -u nullglob
}

if [[ -d "$cluster_dir" ]]; then
  # kwokctl does not know the simulated KServe controller (up.sh starts it), and deletes the
  # pid files with the cluster: stop everything by pid file first.
  kill_pids
  kwokctl=""
  bin_dir="$(bash "$here/build.sh" --print-bin-dir)"
  [[ -x "$bin_dir/kwokctl" ]] && kwokctl="$bin_dir/kwokctl"
  if [[ -n "$kwokctl" ]] && "$kwokctl" delete cluster --name "$name" >/dev/null 2>&1 8>&-; then
    log "deleted cluster '$name'"
  else
    log "kwokctl delete failed or unavailable; stopping processes by pid file"
  fi
  kill_pids
  rm -rf "$cluster_dir"
else
  log "cluster '$name' is not running"
fi
rm -f "$kubeconfig_out"
