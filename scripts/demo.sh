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

step "Live sources for the demo: PostgreSQL and MariaDB databases, an S3 bucket and a REST API, all on 127.0.0.1"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PIDS=()
trap 'for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done' EXIT
export POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-unused}" MYSQL_PASSWORD="${MYSQL_PASSWORD:-}"  # local servers: trust / empty
if python3 scripts/demo_databases.py; then
  echo "(sources/orders_db.yaml and sources/inventory_db.yaml now point at real databases)"
else
  echo "NOTE: no PostgreSQL on 127.0.0.1:5432 or MariaDB on 127.0.0.1:3306: the database sources leave the demo"
  rm -f "$DEMO/sources/orders_db.yaml" "$DEMO/sources/inventory_db.yaml"
fi
S3_PORT=$(free_port)
moto_server -H 127.0.0.1 -p "$S3_PORT" >/dev/null 2>&1 & PIDS+=($!)
export S3_ENDPOINT="http://127.0.0.1:$S3_PORT" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo-secret
python3 - <<'PY' || fail "could not fill the demo bucket"
import os, time, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1")
for _ in range(100):
    try:
        s3.list_buckets()
        break
    except Exception:
        time.sleep(0.1)
s3.create_bucket(Bucket="acme-exports")
s3.put_object(Bucket="acme-exports", Key="exports/2026-01.csv", Body=b"id,name,amount,active\n1,Ada,12.5,true\n2,Bob,7,false\n")
s3.put_object(Bucket="acme-exports", Key="events/2026-01-01.jsonl", Body=b'{"id": 1, "kind": "click"}\n{"id": 2, "kind": "view"}\n')
print("bucket acme-exports filled at", os.environ["S3_ENDPOINT"])
PY
API_PORT=$(free_port)
export DEMO_API_TOKEN=demo-token
python3 tests/api/loopback_api.py --port "$API_PORT" >/dev/null 2>&1 & PIDS+=($!)
cat > "$DEMO/sources/exports.yaml" <<YAML
type: s3
connector: source-s3
description: Monthly exports in an S3 bucket (a local S3-protocol server for the demo).
config:
  bucket: acme-exports
  region: us-east-1
  endpoint: $S3_ENDPOINT
  aws_access_key_id: "\${AWS_ACCESS_KEY_ID}"
  aws_secret_access_key: "\${AWS_SECRET_ACCESS_KEY}"
  streams:
    - {name: exports, globs: ["exports/*.csv"], format: csv}
    - {name: events, globs: ["events/*.jsonl"], format: jsonl}
YAML
cat > "$DEMO/sources/people_api.yaml" <<YAML
type: api
connector: source-declarative-manifest
description: A people API with page-number pagination behind a bearer token (served on loopback for the demo).
config:
  base_url: http://127.0.0.1:$API_PORT/v1
  auth: {type: bearer, token: "\${DEMO_API_TOKEN}"}
  pagination: {type: page, page_param: page, size_param: per_page, page_size: 10}
  endpoints:
    - {name: users, path: /users, records_path: [data], primary_key: [id]}
YAML
cd "$DEMO" && git init -q . && git add -A && git -c user.name=demo -c user.email=demo@example.com commit -qm "demo start"

step "bmad-gitops discover orders_db   (a database: tables, types, keys, foreign keys, estimated sizes)"
[ -f sources/orders_db.yaml ] && { bmad-gitops discover orders_db | head -20 || fail "discover orders_db"; }

step "bmad-gitops plan   (in build/demo: nothing applied yet; the first run installs source-file and source-s3 once)"
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

step "The HTTP service for BMad agents: a key, a few calls, and stop"
call() {  # call PATH [JSON]: one request with the demo key, the answer's first 600 characters
  python3 - "$@" <<'PY'
import json, os, sys, urllib.error, urllib.request
url = f"http://127.0.0.1:{os.environ['SERVE_PORT']}{sys.argv[1]}"
body = sys.argv[2].encode() if len(sys.argv) > 2 else None
headers = {"Content-Type": "application/json"} if body else {}
if os.environ.get("KEY"):
    headers["X-API-Key"] = os.environ["KEY"]
try:
    with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=120) as answer:
        print(f"HTTP {answer.status}: {answer.read().decode()[:600]}")
except urllib.error.HTTPError as refused:
    print(f"HTTP {refused.code}: {refused.read().decode()[:300]}")
PY
}
bmad-gitops features enable pyairbyte_integration >/dev/null
export KEY SERVE_PORT
KEY=$(bmad-gitops keys create --name demo --scopes data_read 2>/dev/null)
SERVE_PORT=$(free_port)
bmad-gitops serve --port "$SERVE_PORT" --processes 2 >/dev/null 2>&1 & SERVE_PID=$!; PIDS+=("$SERVE_PID")  # two server processes on one port
python3 -c 'import os, socket, time
for _ in range(150):
    try:
        socket.create_connection(("127.0.0.1", int(os.environ["SERVE_PORT"])), 1).close(); break
    except OSError:
        time.sleep(0.2)'
echo "GET /api/v1/data-sources/config"; call /api/v1/data-sources/config
echo "POST /api/v1/data-sources/read (customers, 3 rows, sensitive columns masked)"
call /api/v1/data-sources/read '{"source": "customers", "stream_name": "customers", "limit": 3}'
echo "the same without a key"; KEY= call /api/v1/data-sources/config
kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null
bmad-gitops keys revoke demo 2>/dev/null

step "Lineage docs written by apply (docs/lineage/, Mermaid included), and the story block it maintains"
sed -n '1,30p' docs/lineage/customers.md
echo "..."
sed -n '/bmad-gitops:sources:start/,/bmad-gitops:sources:end/p' docs/stories/1.1.customer-master-import.md
echo
echo "Demo done. Look around in build/demo: state/ (the applied state, meant to be committed), docs/lineage/,"
echo "plan.md (the PR comment) and .bmad-gitops/openlineage/events.jsonl (OpenLineage events)."
