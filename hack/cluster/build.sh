#!/usr/bin/env bash
# Builds (or locates) the local control-plane binaries: kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl (k8s.io/kubernetes), etcd (go.etcd.io/etcd/server/v3), kwok and kwokctl
# (sigs.k8s.io/kwok), into a version-keyed cache outside the work tree:
#
#   ${JOURNAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/journal-platform}/control-plane/<k8s-version>/bin/
#
# Progress goes to stderr; the bin dir is the only line printed on stdout, so
#   BIN_DIR="$(bash hack/cluster/build.sh)"
# works. Idempotent (skips binaries that are present and runnable) and safe to run concurrently
# (flock on the cache dir). Binaries the user already has are reused instead of built:
#   - $KUBEBUILDER_ASSETS/<name>, then <name> on PATH, when its version matches our minor version
#     (kube-*: v1.35.x, etcd: 3.6.x, kwok/kwokctl: exact KWOK version). Set
#     JOURNAL_CLUSTER_USE_SYSTEM=0 to always build.
# Exit codes: 0 ok, 3 = cannot build (no Go toolchain) -> callers may skip, 1 = other failure.
set -euo pipefail
# The body is one { ... } block: bash parses it whole before running, so editing this file
# (e.g. a git pull) while it runs cannot derail it.
{

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster/versions.env
source "$here/versions.env"

cache_root="${JOURNAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/journal-platform}"
vdir="$cache_root/control-plane/$K8S_VERSION"
bin_dir="$vdir/bin"
use_system="${JOURNAL_CLUSTER_USE_SYSTEM:-1}"

t0=$(date +%s)
log() { printf '[build %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }
die() { local code="${2:-1}"; printf 'build.sh: error: %s\n' "$1" >&2; exit "$code"; }

if [[ "${1:-}" == "--print-bin-dir" ]]; then echo "$bin_dir"; exit 0; fi
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi

k8s_minor="${K8S_VERSION#v}"; k8s_minor="${k8s_minor%.*}"        # 1.35
etcd_minor="${ETCD_VERSION#v}"; etcd_minor="${etcd_minor%.*}"    # 3.6
kwok_ver="${KWOK_VERSION#v}"                                     # 0.8.0

# version_ok NAME PATH -> 0 when PATH runs and reports a compatible version
version_ok() {
  local name="$1" path="$2" out
  [[ -x "$path" ]] || return 1
  if [[ "$name" == kubectl ]]; then
    out="$(timeout 20 "$path" version --client 2>&1)" || return 1
  else
    out="$(timeout 20 "$path" --version 2>&1)" || return 1
  fi
  case "$name" in
    kubectl) [[ "$out" =~ Client\ Version:\ v${k8s_minor//./\\.}\.[0-9]+ ]] ;;
    kube-*) [[ "$out" =~ Kubernetes\ v${k8s_minor//./\\.}\.[0-9]+ ]] ;;
    etcd)   [[ "$out" =~ etcd\ Version:\ ${etcd_minor//./\\.}\.[0-9]+ ]] ;;
    kwok|kwokctl) [[ "$out" == *"$kwok_ver"* ]] ;;
    *) return 1 ;;
  esac
}

# Fingerprint of everything that affects our own builds; a change forces a rebuild.
fingerprint() {
  { echo "recipe=1"; cat "$here/versions.env" "$here/go.mod" "$here/go.sum" \
      "$here/etcd/go.mod" "$here/etcd/go.sum" "$here/kwok/go.mod" "$here/kwok/go.sum" \
      "$here"/cmd/*/main.go; } | sha256sum | cut -c1-16
}

all_bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl)

# Fast path without the lock: everything present, runnable and from the current recipe.
stamp_ok() { [[ -f "$bin_dir/.stamp" && "$(cat "$bin_dir/.stamp")" == "$(fingerprint)" ]]; }
all_ok() {
  local b
  for b in "${all_bins[@]}"; do version_ok "$b" "$bin_dir/$b" || return 1; done
}
# One line per binary: the version it reports. The whole output is captured before
# the first line is taken: `cmd | head -1` under pipefail lets a SIGPIPE'd cmd (exit 141) fail the
# build after everything was built. It runs on warm runs too, so the cold path cannot rot unseen.
summary() {
  local b out
  for b in "${all_bins[@]}"; do
    if [[ "$b" == kubectl ]]; then out="$("$bin_dir/$b" version --client 2>&1)" || true
    else out="$("$bin_dir/$b" --version 2>&1)" || true; fi
    log "$(printf '%-24s' "$b") ${out%%$'\n'*}"
  done
}

if stamp_ok && all_ok; then
  log "control plane $K8S_VERSION already built in $bin_dir"
  summary
  echo "$bin_dir"; exit 0
fi

mkdir -p "$vdir"
exec 9>"$vdir/.build.lock"
if ! flock -n 9; then
  log "another build.sh is running for $K8S_VERSION; waiting for its lock ($vdir/.build.lock)"
  flock 9
fi
# Re-check: the other build may have finished the job.
if stamp_ok && all_ok; then
  log "control plane $K8S_VERSION already built in $bin_dir (by a concurrent run)"
  echo "$bin_dir"; exit 0
fi
mkdir -p "$bin_dir"
fp="$(fingerprint)"
if [[ -f "$bin_dir/.stamp" && "$(cat "$bin_dir/.stamp")" != "$fp" ]]; then
  log "build recipe changed since the last build; rebuilding"
  rm -f "$bin_dir/.stamp"
  for b in "${all_bins[@]}"; do [[ -L "$bin_dir/$b" ]] || rm -f "$bin_dir/$b"; done
fi

# 1. Reuse binaries the user already has.
need=()
for b in "${all_bins[@]}"; do
  if [[ -e "$bin_dir/$b" ]] && version_ok "$b" "$bin_dir/$b"; then
    continue
  fi
  rm -f "$bin_dir/$b"
  found=""
  if [[ "$use_system" != "0" ]]; then
    for cand in ${KUBEBUILDER_ASSETS:+"$KUBEBUILDER_ASSETS/$b"} "$(command -v "$b" 2>/dev/null || true)"; do
      [[ -n "$cand" ]] || continue
      if version_ok "$b" "$cand"; then found="$(readlink -f "$cand")"; break; fi
    done
  fi
  if [[ -n "$found" ]]; then
    ln -sfn "$found" "$bin_dir/$b"
    log "using existing $b: $found"
  else
    need+=("$b")
  fi
done

# 2. Build the rest from the Go modules in hack/cluster.
if (( ${#need[@]} > 0 )); then
  command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH, cannot build: ${need[*]}.
  Install Go >= 1.25 (https://go.dev/dl/), or point KUBEBUILDER_ASSETS / PATH at existing
  $K8S_VERSION binaries (kube-apiserver, kube-controller-manager, kube-scheduler, etcd $ETCD_VERSION, kwok/kwokctl $KWOK_VERSION)." 3
  log "building: ${need[*]} with $(go version | cut -d' ' -f3) (GOMODCACHE=$(go env GOMODCACHE), GOCACHE=$(go env GOCACHE))"
  # Our modules only: never a go.work from a parent dir; go.sum must already be complete.
  export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false"
  tmp="$(mktemp -d "$vdir/.tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT

  contains() { local x; for x in "${@:2}"; do [[ "$x" == "$1" ]] && return 0; done; return 1; }

  kube_targets=()
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    contains "$b" "${need[@]}" && kube_targets+=("./cmd/$b")
  done
  if (( ${#kube_targets[@]} > 0 )); then
    ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=${k8s_minor%%.*} -X $p.gitMinor=${k8s_minor#*.}"
      ld+=" -X $p.gitTreeState=clean -X $p.gitCommit=$K8S_VERSION -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    log "go mod download (k8s.io/kubernetes $K8S_VERSION; first run downloads ~700 MB of modules)"
    (cd "$here" && go mod download)
    log "go build ${kube_targets[*]} (cold: ~4 min on 2 cores; warm: seconds)"
    s=$(date +%s)
    (cd "$here" && go build -trimpath -ldflags "$ld" -o "$tmp/" "${kube_targets[@]}") \
      || die "go build of ${kube_targets[*]} failed (see output above)"
    log "kube binaries built in $(( $(date +%s) - s ))s"
  fi
  if contains etcd "${need[@]}"; then
    log "go build etcd $ETCD_VERSION (go.etcd.io/etcd/server/v3)"
    s=$(date +%s)
    (cd "$here/etcd" && go mod download && go build -trimpath \
      -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" \
      -o "$tmp/etcd" go.etcd.io/etcd/server/v3) || die "go build of etcd failed (see output above)"
    log "etcd built in $(( $(date +%s) - s ))s"
  fi
  kwok_targets=()
  for b in kwok kwokctl; do contains "$b" "${need[@]}" && kwok_targets+=("sigs.k8s.io/kwok/cmd/$b"); done
  if (( ${#kwok_targets[@]} > 0 )); then
    log "go build ${kwok_targets[*]} $KWOK_VERSION"
    s=$(date +%s)
    # Explicit versions: a plain `go install` build may report "unknown" (kubernetes-sigs/kwok#520).
    c=sigs.k8s.io/kwok/pkg/consts
    (cd "$here/kwok" && go mod download && go build -trimpath \
      -ldflags "-s -w -X $c.Version=$kwok_ver -X $c.KubeVersion=${K8S_VERSION#v}" \
      -o "$tmp/" "${kwok_targets[@]}") || die "go build of kwok failed (see output above)"
    log "kwok built in $(( $(date +%s) - s ))s"
  fi
  for b in "${need[@]}"; do
    [[ -x "$tmp/$b" ]] || die "expected $tmp/$b after the build"
    version_ok "$b" "$tmp/$b" || die "$b was built but does not report the expected version"
    mv -f "$tmp/$b" "$bin_dir/$b"
  done
fi

all_ok || die "some binaries in $bin_dir are not runnable; delete $bin_dir and rerun"
echo "$fp" > "$bin_dir/.stamp"
summary
log "done: $bin_dir"
echo "$bin_dir"
exit
}
