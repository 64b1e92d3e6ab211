#!/usr/bin/env bash
# Starts a local Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager +
# kube-scheduler + kwok-controller, all as background processes via `kwokctl --runtime binary`)
# with KWOK-simulated nodes, then installs CRDs. Idempotent: if the cluster is already up and
# healthy it only refreshes the kubeconfig and CRDs.
#
# Environment (all optional):
#   CLUSTER_NAME      cluster name (default: journal)
#   KUBECONFIG_OUT    where to write the kubeconfig (default: <repo>/.local/kubeconfig)
#   CLUSTER_WORKDIR   state dir: kwokctl workdir, PKI, etcd data, logs (default: <repo>/.local/cluster)
#   CLUSTER_NODES     number of KWOK nodes (default: 3; each 64 cpu / 512Gi / 500 pods)
#   CLUSTER_TIMEOUT   seconds to wait for apiserver/nodes/CRDs (default: 180)
#   KSERVE_CRD_DIR    dir with full-serving.kserve.io_inferenceservices.yaml (default: <repo>/../shared/crds/kserve)
#   CNPG_CRD_DIR      dir with CloudNativePG's postgresql.cnpg.io_*.yaml (default: <repo>/../shared/crds/cnpg)
#   KUBECTL           kubectl binary (default: the one build.sh made, else kubectl on PATH)
# Usage: bash hack/cluster/up.sh   then   KUBECONFIG=.local/kubeconfig kubectl get nodes
set -euo pipefail
# The body is one { ... } block: bash parses it whole before running, so editing this file
# (e.g. a git pull) while it runs cannot derail it.
{

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=hack/cluster/versions.env
source "$here/versions.env"

name="${CLUSTER_NAME:-journal}"
kubeconfig_out="${KUBECONFIG_OUT:-$repo/.local/kubeconfig}"
workdir="${CLUSTER_WORKDIR:-$repo/.local/cluster}"
nodes="${CLUSTER_NODES:-3}"
timeout_s="${CLUSTER_TIMEOUT:-180}"
kserve_dir="${KSERVE_CRD_DIR:-$repo/../shared/crds/kserve}"
[[ -d "$kserve_dir" ]] && kserve_dir="$(cd "$kserve_dir" && pwd)"
cnpg_dir="${CNPG_CRD_DIR:-$repo/../shared/crds/cnpg}"
[[ -d "$cnpg_dir" ]] && cnpg_dir="$(cd "$cnpg_dir" && pwd)"
# Prefer the kubectl built with the control plane (same version as the server), then PATH.
built_kubectl="$(bash "$repo/hack/cluster/build.sh" --print-bin-dir)/kubectl"
if [[ -z "${KUBECTL:-}" && -x "$built_kubectl" ]]; then kubectl_bin="$built_kubectl"; else kubectl_bin="${KUBECTL:-kubectl}"; fi

t0=$(date +%s)
log() { printf '[up %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }
die() { printf 'up.sh: error: %s\n' "$*" >&2; exit 1; }

[[ "$name" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "CLUSTER_NAME '$name' must be a DNS label (lowercase letters, digits, '-')"
command -v "$kubectl_bin" >/dev/null 2>&1 || die "kubectl not found (set KUBECTL=/path/to/kubectl or install it, e.g. apt-get install kubectl)"
command -v flock >/dev/null 2>&1 || die "flock not found (apt-get install util-linux)"

mkdir -p "$workdir" "$(dirname "$kubeconfig_out")"
workdir="$(cd "$workdir" && pwd)"
kubeconfig_out="$(cd "$(dirname "$kubeconfig_out")" && pwd)/$(basename "$kubeconfig_out")"
export KWOK_WORKDIR="$workdir/kwok"
cluster_dir="$KWOK_WORKDIR/clusters/$name"

# One up/down at a time per cluster.
exec 8>"$workdir/.$name.lock"
flock 8

bin_dir="$(bash "$here/build.sh")" || { rc=$?; echo "up.sh: error: could not build the control-plane binaries (hack/cluster/build.sh exit $rc)" >&2; exit "$rc"; }
kwokctl="$bin_dir/kwokctl"
k() { "$kubectl_bin" --kubeconfig "$kubeconfig_out" "$@"; }

# poll DESC CMD...: retry CMD until it succeeds or the deadline passes. (We poll instead of
# `kubectl wait`, which errors out on objects that have no status.conditions yet.)
poll() {
  local desc="$1"; shift
  local until_ts=$(( $(date +%s) + timeout_s ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < until_ts )) || die "$desc (waited ${timeout_s}s; logs: $cluster_dir/logs)"
    sleep 1
  done
}
healthy() { [[ -f "$kubeconfig_out" ]] && k get --raw=/readyz --request-timeout=5s >/dev/null 2>&1; }

# Our kubeconfig embeds the certificates (--flatten), so it works wherever it is copied to.
refresh_kubeconfig() {
  [[ -f "$cluster_dir/kubeconfig.yaml" ]] || return 1
  (umask 077 && "$kubectl_bin" --kubeconfig "$cluster_dir/kubeconfig.yaml" config view --raw --flatten \
    > "$kubeconfig_out.tmp") && mv -f "$kubeconfig_out.tmp" "$kubeconfig_out"
}
if [[ -d "$cluster_dir" ]]; then
  if refresh_kubeconfig && healthy; then
    log "cluster '$name' is already running (state: $cluster_dir)"
  else
    # Stopped (e.g. after a reboot): restart it with its etcd data; recreate if that fails.
    log "cluster '$name' exists but is not running; restarting it"
    "$kwokctl" start cluster --name "$name" -v "${KWOKCTL_LOG_LEVEL:-WARN}" >&2 8>&- || true
    ok=0
    for _ in $(seq 1 30); do
      if refresh_kubeconfig && healthy; then ok=1; break; fi
      sleep 1
    done
    if (( ! ok )); then
      log "restart failed; recreating cluster '$name' (its previous objects are lost)"
      "$kwokctl" delete cluster --name "$name" >&2 8>&- || true
      rm -rf "$cluster_dir"
    fi
  fi
fi

if [[ ! -d "$cluster_dir" ]]; then
  stage_args=(--config "$here/kwokctl.yaml")
  for f in "$here"/stages/*.yaml; do stage_args+=(--config "$f"); done
  # kwokctl picks "free" ports by probing downwards from 32765, so two clusters created at the
  # same moment (parallel test sessions) would pick the same ones: serialize creation
  # machine-wide until this cluster's processes have bound theirs (--wait).
  create_lock="${TMPDIR:-/tmp}/journal-platform-cluster-create.lock"
  exec 7>>"$create_lock"
  chmod 666 "$create_lock" 2>/dev/null || true
  flock 7
  log "creating cluster '$name' (kwokctl $KWOK_VERSION, runtime binary, Kubernetes $K8S_VERSION, state: $cluster_dir)"
  # Every binary is passed explicitly so kwokctl never downloads anything.
  # (kwokctl v0.8 takes the versions from the environment, not from flags.)
  if ! KWOK_KUBE_VERSION="$K8S_VERSION" KWOK_ETCD_VERSION="${ETCD_VERSION#v}" "$kwokctl" create cluster \
      --name "$name" \
      --runtime binary \
      -v "${KWOKCTL_LOG_LEVEL:-WARN}" \
      --etcd-binary "$bin_dir/etcd" \
      --kube-apiserver-binary "$bin_dir/kube-apiserver" \
      --kube-controller-manager-binary "$bin_dir/kube-controller-manager" \
      --kube-scheduler-binary "$bin_dir/kube-scheduler" \
      --kwok-controller-binary "$bin_dir/kwok" \
      --kubeconfig "" \
      --quiet-pull \
      --wait "${timeout_s}s" \
      "${stage_args[@]}" >&2 7>&- 8>&-; then  # 7>&- 8>&-: the daemons must not inherit our locks
    log "kwokctl create failed; component logs:"
    tail -n 20 "$cluster_dir"/logs/*.log >&2 2>/dev/null || true
    "$kwokctl" delete cluster --name "$name" >/dev/null 2>&1 7>&- 8>&- || true
    die "cluster creation failed (see above). Logs were in $cluster_dir/logs"
  fi
  refresh_kubeconfig || die "kwokctl wrote no kubeconfig ($cluster_dir/kubeconfig.yaml)"
  exec 7>&-  # releases the creation lock
fi

poll "kube-apiserver is not healthy" healthy
log "kube-apiserver is healthy ($(k config view -o jsonpath='{.clusters[0].cluster.server}'))"

# KWOK nodes (idempotent apply).
node_yaml=""
for i in $(seq 0 $(( nodes - 1 ))); do
  node_yaml+="$(sed -e "s/__NAME__/kwok-node-$i/g" -e "s/__INDEX__/$i/g" -e "s/__IP__/$(( i + 10 ))/g" \
    "$here/manifests/node.yaml.tmpl")"$'\n---\n'
done
printf '%s' "$node_yaml" | k apply -f - >/dev/null
log "waiting for $nodes KWOK node(s) to be Ready"
# shellcheck disable=SC2317  # called through poll
nodes_ready() {
  local ready
  ready="$(k get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$')"
  (( ready >= nodes ))
}
poll "KWOK nodes did not become Ready (see kwok-controller.log)" nodes_ready

k apply -f "$here/manifests/storage-class.yaml" >/dev/null

# CRDs: the real KServe InferenceService CRD when available, else our open-schema stand-in.
crd_files=()
if [[ -f "$kserve_dir/full-serving.kserve.io_inferenceservices.yaml" ]]; then
  crd_files+=("$kserve_dir/full-serving.kserve.io_inferenceservices.yaml")
  kserve_kind="full KServe CRD from $kserve_dir"
else
  crd_files+=("$here/crds/inferenceservices.serving.kserve.io.yaml")
  kserve_kind="open-schema stand-in (hack/cluster/crds)"
fi
# CloudNativePG's real CRDs when available (database.mode cnpg); there is no stand-in: without
# them the simulated CloudNativePG controller does not start and the cnpg tests skip.
cnpg_installed=false
if [[ -f "$cnpg_dir/postgresql.cnpg.io_clusters.yaml" ]]; then
  for f in "$cnpg_dir"/postgresql.cnpg.io_*.yaml; do crd_files+=("$f"); done
  cnpg_installed=true
fi
shopt -s nullglob
for f in "$repo"/crds/*.yaml "$repo"/crds/*.yml; do crd_files+=("$f"); done
shopt -u nullglob
for f in "${crd_files[@]}"; do
  k apply --server-side --force-conflicts --field-manager=journal-cluster-up -f "$f" >/dev/null \
    || die "applying $f failed"
done
# shellcheck disable=SC2317  # called through poll
crds_established() {
  ! k get crd -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status}{"\n"}{end}' \
    | grep -v '=True$' | grep -q .
}
poll "CRDs did not become Established" crds_established
log "installed ${#crd_files[@]} CRD file(s); InferenceService: $kserve_kind; CloudNativePG: $cnpg_installed"

# The simulated KServe controller (stages-crd/isvc-ready.yaml) is a second kwok process that
# manages no nodes and only runs the custom-resource stages. It starts after the CRDs are
# Established because kwok refuses to start while a Stage names a kind the server lacks.
sim_pid_file="$cluster_dir/pids/kserve-simulator.pid"
if ! { [[ -f "$sim_pid_file" ]] && kill -0 "$(cat "$sim_pid_file")" 2>/dev/null; }; then
  stage_cfg=()
  for f in "$here"/stages-crd/*.yaml; do
    # The simulated CloudNativePG controller only where its CRDs are (kwok refuses unknown kinds).
    [[ "$(basename "$f")" == cnpg-* && "$cnpg_installed" != true ]] && continue
    stage_cfg+=(--config "$f")
  done
  # The cluster's own copy of the kwok binary, so down.sh recognises the process as this cluster's.
  # kwok needs complete discovery at start. Right after a CRD install the server can fail
  # it for a few seconds more even once the group answers (seen: the first start usually
  # exits), so wait for the group, then retry a start that dies in its first seconds.
  poll "the InferenceService API is not served yet" k get --raw /apis/serving.kserve.io/v1beta1
  if [[ "$cnpg_installed" == true ]]; then
    poll "the CloudNativePG Cluster API is not served yet" k get --raw /apis/postgresql.cnpg.io/v1
  fi
  for attempt in 1 2 3 4 5; do
    nohup "$cluster_dir/bin/kwok-controller" --kubeconfig "$cluster_dir/kubeconfig.yaml" "${stage_cfg[@]}" \
      --manage-single-node "kserve-simulator-manages-no-node" --server-address "" \
      >> "$cluster_dir/logs/kserve-simulator.log" 2>&1 7>&- 8>&- &
    echo $! > "$sim_pid_file"
    sleep 3
    kill -0 "$(cat "$sim_pid_file")" 2>/dev/null && break
    (( attempt < 5 )) || die "the simulated KServe controller keeps exiting (see $cluster_dir/logs/kserve-simulator.log)"
  done
  log "simulated KServe controller running (pid $(cat "$sim_pid_file"); stages-crd/)"
fi

# The default ServiceAccount is created asynchronously by kube-controller-manager; pods are
# rejected until it exists, so wait for it here (saves every caller a race).
poll "ServiceAccount default/default never appeared (see kube-controller-manager.log)" \
  k get serviceaccount default -n default

log "cluster '$name' is up: $nodes node(s), Kubernetes $K8S_VERSION"
log "  export KUBECONFIG=$kubeconfig_out    # kubectl get nodes"
log "  stop with: CLUSTER_NAME=$name bash hack/cluster/down.sh   (logs: $cluster_dir/logs)"
exit
}
