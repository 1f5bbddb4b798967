"""A warm `plan` over 20 database sources with live refresh (databases are asked on every plan).

Target: <= 2 s with --parallelism 4, whole process. Needs PostgreSQL on 127.0.0.1:5432 (trust) with the demo
database `shop` (python scripts/demo_databases.py). Prints the median of --runs whole-process runs, and the same
plan with --parallelism 1 as the baseline in the same run.

    .venv/bin/python benchmarks/bench_plan_db.py [--sources 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "bmad-gitops"

DEFINITION = """\
type: database
connector: source-postgres
config:
  host: 127.0.0.1
  port: 5432
  database: shop
  username: postgres
  password: "${{BENCH_PG_PASSWORD}}"
  ssl_mode: disable
on_drift: warn
"""


def run(root: Path, *args: str) -> float:
    env = {**os.environ, "BENCH_PG_PASSWORD": "unused", "NO_COLOR": "1", "OPENLINEAGE_DISABLED": "true"}
    started = time.perf_counter()
    done = subprocess.run([str(BIN), *args], cwd=root, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stdout[-500:]}{done.stderr[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-plan-db-"))
    try:
        (root / ".git").mkdir()
        (root / "sources").mkdir()
        for index in range(args.sources):
            (root / "sources" / f"shop_{index:02d}.yaml").write_text(DEFINITION.format(), encoding="utf-8")
        run(root, "apply", "--auto-approve", "--parallelism", "4")
        warm4 = [run(root, "plan", "--parallelism", "4") for _ in range(args.runs)]
        warm1 = [run(root, "plan", "--parallelism", "1") for _ in range(args.runs)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    p4, p1 = statistics.median(warm4), statistics.median(warm1)
    print(f"| warm plan, {args.sources} PostgreSQL sources, live refresh | --parallelism 4 | {p4:.2f} s | target <= 2 s |")
    print(f"| same, --parallelism 1 (baseline, same run) | | {p1:.2f} s | ratio {p4 / p1:.2f}x |")


if __name__ == "__main__":
    main()
