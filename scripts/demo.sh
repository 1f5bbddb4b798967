#!/usr/bin/env bash
# `make demo`: the main job on the bundled sources/ and sample data. Needs no network beyond the package index.
# It works in a scratch copy (build/demo/) so that every run shows the whole loop from an empty state.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DEMO="$REPO/build/demo"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "demo failed: $*" >&2; exit 1; }

step "bmad-gitops validate   (every definition in sources/)"
bmad-gitops validate || fail "the bundled sources should be valid"

step "bmad-gitops validate examples/broken/orders_db_broken.yaml   (a deliberately broken file)"
if bmad-gitops validate examples/broken/orders_db_broken.yaml; then
  fail "expected the broken example to fail"
fi
echo "(exit 1, as expected: every problem is reported with its file:line:col and a hint)"

rm -rf "$DEMO" && mkdir -p "$DEMO"
cp -r sources data "$DEMO"/
[ -d docs/stories ] && mkdir -p "$DEMO/docs" && cp -r docs/stories "$DEMO/docs/"
[ -f bmad-gitops.yaml ] && cp bmad-gitops.yaml "$DEMO"/
[ -d .bmad-core ] && cp -r .bmad-core "$DEMO"/
cd "$DEMO" && git init -q . && git add -A && git -c user.name=demo -c user.email=demo@example.com commit -qm "demo start"

step "bmad-gitops plan   (in build/demo: nothing applied yet; the first run installs source-file once, then it is cached)"
bmad-gitops plan --out plan.json || fail "plan"

step "bmad-gitops apply plan.json --update-stories   (test extraction, state/, lineage docs, OpenLineage events)"
bmad-gitops apply plan.json --show-sample --update-stories || fail "apply"

step "bmad-gitops plan   (again: nothing changed)"
bmad-gitops plan --detailed-exitcode; [ $? -eq 0 ] || fail "a second plan should show no changes"

step "Upstream drift: data/customers.csv gains a 'segment' column and loses 'country'"
python3 - <<'PY'
import csv
rows = list(csv.DictReader(open("data/customers.csv", newline="", encoding="utf-8")))
with open("data/customers.csv", "w", newline="", encoding="utf-8") as out:
    fields = [f for f in rows[0] if f != "country"] + ["segment"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for i, row in enumerate(rows):
        row.pop("country")
        writer.writerow({**row, "segment": "enterprise" if i % 2 else "smb"})
PY
bmad-gitops plan --detailed-exitcode
[ $? -eq 2 ] || fail "plan should report the drift as changes (exit 2)"

step "The same plan as a pull-request comment (Markdown)"
bmad-gitops plan --format markdown > plan.md; head -12 plan.md

step "Lineage docs written by apply (docs/lineage/, Mermaid included), and the story block it maintains"
sed -n '1,30p' docs/lineage/customers.md
echo "..."
sed -n '/bmad-gitops:sources:start/,/bmad-gitops:sources:end/p' docs/stories/1.1.customer-master-import.md
echo
echo "Demo done. Look around in build/demo: state/ (the applied state, meant to be committed), docs/lineage/,"
echo "plan.md (the PR comment) and .bmad-gitops/openlineage/events.jsonl (OpenLineage events)."
