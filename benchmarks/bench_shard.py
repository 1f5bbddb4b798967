"""`plan --shard K/N` over many sources with a warm cache, and `plan-merge` of the shares.

Every generated definition reads the same sample file with the same config, so one discovery warms the cache for
all of them (the cache key is the connector, the config and the file's content, not the source's name). Then, for
N = 1, 2 and 4, each share's whole-process wall time (the slowest share is what a CI matrix waits for), and the
merged plan's size and merge time.

    .venv/bin/python benchmarks/bench_shard.py [--sources 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = str(BIN / "bmad-gitops")
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
REPO = Path(__file__).resolve().parent.parent

DEFINITION = """type: file
connector: source-file
format: csv
config:
  dataset_name: customers
  format: csv
  url: data/customers.csv
  provider:
    storage: local
"""


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(args)}: exit {done.returncode}\n{done.stdout[-400:]}{done.stderr[-400:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=1000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-shard-"))
    try:
        (root / ".git").mkdir()
        (root / "sources").mkdir()
        (root / "data").mkdir()
        shutil.copy(REPO / "data" / "customers.csv", root / "data" / "customers.csv")
        for index in range(args.sources):
            (root / "sources" / f"source_{index:04d}.yaml").write_text(DEFINITION, encoding="utf-8")
        timed([CLI, "plan", "--target", "source_0000"], root)  # one discovery fills the cache for all
        print(f"| shares | slowest share | sum of shares | merge | merged plan |  ({args.sources} sources, warm cache)")
        print("| ---: | ---: | ---: | ---: | ---: |")
        for shares in (1, 2, 4):
            walls = [
                timed([CLI, "plan", "--shard", f"{k}/{shares}", "--out", f"share-{k}.json", "--format", "json"], root)
                for k in range(1, shares + 1)
            ]
            files = [f"share-{k}.json" for k in range(1, shares + 1)]
            merge = timed([CLI, "plan-merge", *files, "--out", "merged.json", "--format", "json"], root)
            size = (root / "merged.json").stat().st_size
            print(f"| {shares} | {max(walls):.2f} s | {sum(walls):.2f} s | {merge:.2f} s | {size / 1e6:.2f} MB |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
