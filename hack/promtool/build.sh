#!/usr/bin/env bash
# Builds (or locates) promtool from the Prometheus Go module, and fetches the Prometheus
# Operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule) from its Go module, into a
# version-keyed cache outside the work tree:
#
#   ${JOURNAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/journal-platform}/prometheus/<version>/
#     bin/promtool
#     crds/monitoring.coreos.com_{servicemonitors,podmonitors,prometheusrules}.yaml
#
# Progress goes to stderr; the folder above is the only line printed on stdout, so
#   DIR="$(bash hack/promtool/build.sh)"
# works. Idempotent (a fingerprint of go.mod/go.sum and this script, and a runnable
# promtool of the right version) and safe to run concurrently (flock). Cold: a few minutes of
# Go build on 2 cores; warm: instant. A promtool on PATH of the same version is reused.
# Exit codes: 0 ok, 3 = no Go toolchain (callers may skip), 1 = other failure.
set -euo pipefail
{
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The Prometheus module's version (v0.316.0 is Prometheus 3.16.0) and the Prometheus
# Operator release whose example/prometheus-operator-crd we install in the test cluster.
PROMETHEUS_MODULE_VERSION="$(awk '$1 == "github.com/prometheus/prometheus" {print $2}' "$here/go.mod")"
PROMETHEUS_OPERATOR_VERSION=v0.85.0
CRDS=(servicemonitors podmonitors prometheusrules)

cache_root="${JOURNAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/journal-platform}"
vdir="$cache_root/prometheus/$PROMETHEUS_MODULE_VERSION"
t0=$(date +%s)
log() { printf '[promtool %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }
die() { printf 'promtool/build.sh: error: %s\n' "$1" >&2; exit "${2:-1}"; }
[[ -n "$PROMETHEUS_MODULE_VERSION" ]] || die "no github.com/prometheus/prometheus in $here/go.mod"
if [[ "${1:-}" == "--print-dir" ]]; then echo "$vdir"; exit 0; fi

# v0.316.0 -> 3.16.0: what `promtool --version` reports.
minor="${PROMETHEUS_MODULE_VERSION#v0.}"; patch="${minor#*.}"; minor="${minor%%.*}"
want="3.$(( 10#${minor:1} )).$patch"
fingerprint() {
  { echo "recipe=1 $PROMETHEUS_OPERATOR_VERSION"; cat "$here/go.mod" "$here/go.sum" "$0"; } \
    | sha256sum | cut -c1-16
}
version_ok() { [[ -x "$1" ]] && [[ "$(timeout 20 "$1" --version 2>&1)" == *"version $want"* ]]; }
complete() {
  local c
  [[ -f "$vdir/.stamp" && "$(cat "$vdir/.stamp")" == "$(fingerprint)" ]] || return 1
  version_ok "$vdir/bin/promtool" || return 1
  for c in "${CRDS[@]}"; do [[ -s "$vdir/crds/monitoring.coreos.com_$c.yaml" ]] || return 1; done
}
if complete; then log "promtool $want and the Prometheus Operator CRDs already in $vdir"; echo "$vdir"; exit 0; fi

mkdir -p "$vdir"
exec 9>"$vdir/.build.lock"
flock 9
if complete; then echo "$vdir"; exit 0; fi
rm -f "$vdir/.stamp"
mkdir -p "$vdir/bin" "$vdir/crds"
command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH: install Go >= 1.26 (https://go.dev/dl/)" 3
export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false"
tmp="$(mktemp -d "$vdir/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

if ! version_ok "$vdir/bin/promtool"; then
  found="$(command -v promtool 2>/dev/null || true)"
  if [[ -n "$found" && "${JOURNAL_CLUSTER_USE_SYSTEM:-1}" != 0 ]] && version_ok "$found"; then
    log "using existing promtool: $found"
    ln -sfn "$(readlink -f "$found")" "$vdir/bin/promtool"
  else
    log "go build promtool (github.com/prometheus/prometheus $PROMETHEUS_MODULE_VERSION; cold: minutes)"
    c=github.com/prometheus/common/version
    (cd "$here" && go mod download && go build -trimpath \
      -ldflags "-s -w -X $c.Version=$want -X $c.Revision=$PROMETHEUS_MODULE_VERSION -X $c.Branch=module" \
      -o "$tmp/promtool" github.com/prometheus/prometheus/cmd/promtool) || die "go build of promtool failed"
    version_ok "$tmp/promtool" || die "promtool was built but does not report version $want"
    mv -f "$tmp/promtool" "$vdir/bin/promtool"
  fi
fi

log "fetching the CRDs of github.com/prometheus-operator/prometheus-operator $PROMETHEUS_OPERATOR_VERSION"
# A module outside our go.mod: `go mod download` still verifies it against the checksum database.
dir="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json \
  "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$dir" && -d "$dir/example/prometheus-operator-crd" ]] || die "the Prometheus Operator module has no example/prometheus-operator-crd"
for c in "${CRDS[@]}"; do
  cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$c.yaml" "$vdir/crds/"
  chmod 0644 "$vdir/crds/monitoring.coreos.com_$c.yaml"
done
fingerprint > "$vdir/.stamp"
log "$("$vdir/bin/promtool" --version 2>&1 | head -1)"
log "done: $vdir"
echo "$vdir"
exit
}
