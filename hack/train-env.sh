#!/usr/bin/env bash
# Builds (or finds) the training environment for `make train` and prints its python's path.
#
# torch and transformers are for training and export only; the serving path (the uv workspace,
# `make dev`, the image) never installs them. This venv lives outside the clone, keyed by the
# hash of inference/requirements-train.txt:
#   ${JOURNAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/journal-platform}/train-env/<hash>/
# torch is the CPU build, from (first found): $JOURNAL_TORCH_FIND_LINKS, ../shared/wheels beside
# the repository, or PyTorch's CPU index (download.pytorch.org/whl/cpu). A CUDA build is never
# installed. Exit codes: 0 ok (path on stdout), 3 = no CPU torch obtainable, 1 = other failure.
set -euo pipefail
{
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/inference/requirements-train.txt"
cache_root="${JOURNAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/journal-platform}"
key="$(sha256sum "$req" | cut -c1-16)"
venv="$cache_root/train-env/$key"
uv="${UV:-$(command -v uv || echo "$cache_root/tools/bin/uv")}"
log() { printf '[train-env] %s\n' "$*" >&2; }

if [[ -x "$venv/bin/python" && -f "$venv/.complete" ]]; then
  echo "$venv/bin/python"; exit 0
fi
mkdir -p "$cache_root/train-env"
exec 9>"$cache_root/train-env/.lock"
flock 9
if [[ -x "$venv/bin/python" && -f "$venv/.complete" ]]; then echo "$venv/bin/python"; exit 0; fi

sources=()
links="${JOURNAL_TORCH_FIND_LINKS:-}"
if [[ -z "$links" && -d "$root/../shared/wheels" ]]; then links="$(cd "$root/../shared/wheels" && pwd)"; fi
if [[ -n "$links" ]]; then
  sources=(--find-links "$links")
  log "torch (CPU) from $links"
else
  sources=(--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
  log "torch (CPU) from https://download.pytorch.org/whl/cpu"
fi
rm -rf "$venv"
log "creating $venv (first run: ~1 GB of wheels, a few minutes)"
"$uv" venv --quiet --python 3.11 "$venv" >&2
if ! "$uv" pip install --python "$venv/bin/python" "${sources[@]}" -r "$req" >&2; then
  rm -rf "$venv"
  printf 'train-env: could not install the CPU build of torch with the rest of %s.\n' "$req" >&2
  printf '  Point JOURNAL_TORCH_FIND_LINKS at a folder holding torch-2.13.0+cpu, or allow access to https://download.pytorch.org/whl/cpu.\n' >&2
  exit 3
fi
touch "$venv/.complete"
log "ready: $venv"
echo "$venv/bin/python"
exit
}
