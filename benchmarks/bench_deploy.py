"""Benchmark: `deploy plan` over N generated sources (default 500) against the loopback contract server.

Half CSV file sources, half PostgreSQL sources with a `${PG_PASSWORD}` secret, each with a connection to a
destination. The workspace is filled by one real `deploy apply` first; then the no-change `deploy plan` is
timed as a whole process (interpreter start included), median of 5 runs. Target ≤ 3 s. Also checked: the
lists are paginated (N/100 pages each) and no source is fetched one by one.

The server validates every request and response against the OpenAPI document, in this process, while the
plan runs in a child process: its time is part of the measured wall clock, as a real server's would be.

Usage: .venv/bin/python benchmarks/bench_deploy.py [--sources 500] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "deploy"))

from airbyte_contract import load_contract, serve  # noqa: E402

WORKSPACE = "744cc0ed-7f05-4949-9e60-2a814f90c035"
DESTINATION = "e478de0d-a3a0-475c-b019-25f7dd29e281"
CLI = str(Path(sys.executable).parent / "bmad-gitops")

FILE = """type: file
connector: source-file
format: csv
config:
  dataset_name: s{i:03d}
  format: csv
  url: data/s{i:03d}.csv
  provider:
    storage: local
streams:
  - name: s{i:03d}
    primary_key: [id]
    cursor: created_at
"""

DATABASE = """type: database
connector: source-postgres
config:
  host: db{i:03d}.internal
  port: 5432
  database: shop
  username: reader
  password: "${{PG_PASSWORD}}"
  ssl_mode: prefer
"""


def make_project(root: Path, url: str, count: int) -> None:
    (root / "sources").mkdir(parents=True)
    (root / "data").mkdir()
    (root / ".git").mkdir()
    (root / "bmad-gitops.yaml").write_text(
        f"deploy:\n  airbyte:\n    api_url: {url}\n    workspace_id: {WORKSPACE}\n    destination_id: {DESTINATION}\n",
        encoding="utf-8",
    )
    for i in range(count):
        if i % 2 == 0:
            (root / "data" / f"s{i:03d}.csv").write_text("id,created_at\n1,2024-01-01\n", encoding="utf-8")
            (root / "sources" / f"s{i:03d}.yaml").write_text(FILE.format(i=i), encoding="utf-8")
        else:
            (root / "sources" / f"s{i:03d}.yaml").write_text(DATABASE.format(i=i), encoding="utf-8")


def run(root: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {
        **os.environ, "NO_COLOR": "1", "PG_PASSWORD": "bench-secret",
        "AIRBYTE_CLIENT_ID": "client-id", "AIRBYTE_CLIENT_SECRET": "client-secret",
    }
    start = time.perf_counter()
    done = subprocess.run(
        [CLI, *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    return time.perf_counter() - start, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    contract = load_contract()
    with serve(contract, workspace_id=WORKSPACE, destination_id=DESTINATION) as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, server.url, args.sources)
        seconds, done = run(root, "deploy", "apply", "--auto-approve")
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:])
            return 1
        print(f"first deploy apply: {seconds:.2f} s ({len(server.sources)} sources, {len(server.connections)} connections)")
        times = []
        for _ in range(args.runs):
            before = len(server.requests)
            seconds, done = run(root, "deploy", "plan", "--detailed-exitcode")
            if done.returncode != 0 or not done.stdout.startswith("No changes."):
                print(done.returncode, done.stdout[-2000:], done.stderr[-2000:])
                return 1
            times.append(seconds)
            calls = server.requests[before:]
        pages = {p: sum(1 for r in calls if r.path == p) for p in ("/v1/sources", "/v1/connections")}
        singles = sum(1 for r in calls if r.path.count("/") > 2 and r.method == "GET")
        print(f"deploy plan, no changes, {args.sources} sources: median {statistics.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f}; whole process, {args.runs} runs); target <= 3 s")
        print(f"requests per plan: {len(calls)} ({pages['/v1/sources']} source pages, "
              f"{pages['/v1/connections']} connection pages, {singles} per-source GETs, 1 token)")
        assert not server.refused and not server.violations, (server.refused[:3], server.violations[:3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
