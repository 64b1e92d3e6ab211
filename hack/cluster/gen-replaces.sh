#!/usr/bin/env bash
# Regenerates the `replace` block of hack/cluster/go.mod: k8s.io/kubernetes' published go.mod
# requires every staging module (k8s.io/api, k8s.io/apiserver, ...) at v0.0.0 and only works
# inside its own repo (kubernetes/kubernetes#79384). We pin each one to v0.<minor>.<patch>.
# Usage: bash hack/cluster/gen-replaces.sh [k8s-version]   (default: the version in versions.env)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster/versions.env
source "$here/versions.env"
kver="${1:-$K8S_VERSION}"
staging="v0.${kver#v1.}"
modfile="$(cd "$here" && go mod download -json "k8s.io/kubernetes@${kver}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
[[ -f "$modfile" ]] || { echo "error: could not download k8s.io/kubernetes@${kver} go.mod" >&2; exit 1; }
mods=$(awk '/^\t(k8s\.io\/[^ ]+) v0\.0\.0( |$)/{print $1}' "$modfile" | sort -u)
cd "$here"
go mod edit -require="k8s.io/kubernetes@${kver}"
for m in $mods; do
  go mod edit -dropreplace="$m" -replace="${m}=${m}@${staging}"
done
echo "pinned $(echo "$mods" | wc -l) staging modules to ${staging}; now run: (cd hack/cluster && go mod tidy)"
