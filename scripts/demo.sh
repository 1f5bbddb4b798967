#!/usr/bin/env bash
# `make demo`: the main job on the bundled sources/ and sample data. Needs no network beyond the package index.
set -uo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "bmad-gitops validate   (every definition in sources/)"
bmad-gitops validate || exit 1

step "bmad-gitops validate examples/broken/orders_db_broken.yaml   (a deliberately broken file)"
if bmad-gitops validate examples/broken/orders_db_broken.yaml; then
  echo "expected the broken example to fail" >&2
  exit 1
fi
echo "(exit 1, as expected: every problem is reported with its file:line:col and a hint)"
