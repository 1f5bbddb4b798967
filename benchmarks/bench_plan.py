"""Benchmarks of the live loop, measured as ratios in one run (never as timed tests).

1. warm no-change `plan` over N file sources (default 100): whole process, median of 5 runs; target ≤ 1.5 s.
2. cold `plan --parallelism 2` vs `--parallelism 1` on M sources (default 20), cache cleared before each run;
   target ≤ 0.6× serial.
3. sample read: `PyAirbyteBackend.read(limit=100)` vs raw PyAirbyte `get_records(limit=100)` on the same file,
   median of 3; target ≤ 1.1×.

Usage: .venv/bin/python benchmarks/bench_plan.py [--sources 100] [--cold 6] [--quick]
Preparing the warm run discovers and applies every source once for real, which takes a few minutes.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = str(BIN / "bmad-gitops")
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}

DEFINITION = """type: file
connector: source-file
format: csv
description: Generated benchmark source {i}.
config:
  dataset_name: s{i:03d}
  format: csv
  url: data/s{i:03d}.csv
  provider:
    storage: local
on_drift: warn
"""


def make_project(root: Path, count: int) -> None:
    (root / "sources").mkdir(parents=True)
    (root / "data").mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for i in range(count):
        with (root / "data" / f"s{i:03d}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "name", "amount", "created_at"])
            for row in range(50):
                writer.writerow([row, f"name {row}", row * 1.5 + i, f"2024-01-{row % 28 + 1:02d}T00:00:00Z"])
        (root / "sources" / f"s{i:03d}.yaml").write_text(DEFINITION.format(i=i), encoding="utf-8")


def run(args: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run([CLI, *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def bench_warm(count: int, runs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, count)
        prep, done = run(["plan", "--parallelism", "2", "--out", "plan.json"], root)
        assert done.returncode == 0, done.stdout + done.stderr
        applied, done = run(["apply", "plan.json", "--parallelism", "2"], root)
        assert done.returncode == 0, done.stdout + done.stderr
        print(f"  prepared {count} sources: cold plan {prep:.1f} s, apply {applied:.1f} s", flush=True)
        times = []
        for _ in range(runs):
            seconds, done = run(["plan", "--detailed-exitcode"], root)
            assert done.returncode == 0 and "No changes" in done.stdout, done.stdout + done.stderr
            times.append(seconds)
        return statistics.median(times)


def bench_cold(count: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, count)
        results = {}
        for parallelism in (1, 2):
            shutil.rmtree(root / ".bmad-gitops", ignore_errors=True)
            seconds, done = run(["plan", "--parallelism", str(parallelism)], root)
            assert done.returncode == 0, done.stdout + done.stderr
            results[parallelism] = seconds
        return results[1], results[2]


def bench_read(runs: int) -> tuple[float, float]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bmad_gitops.connectors.pyairbyte.backend import PyAirbyteBackend
    from bmad_gitops.connectors.pyairbyte.install import ensure_installed, install_root
    from bmad_gitops.connectors.registry import entry

    data = Path(__file__).resolve().parent.parent / "data" / "customers.csv"
    config = {"dataset_name": "customers", "format": "csv", "url": str(data), "provider": {"storage": "local"}}
    pinned = entry("source-file").pinned
    backend = PyAirbyteBackend("source-file", pinned)
    version = ensure_installed("source-file", pinned)
    os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")  # raw PyAirbyte needs this here, as the backend sets it itself
    os.environ.setdefault("DO_NOT_TRACK", "1")
    import airbyte as ab

    def ours() -> int:
        return len(backend.read(config, "customers", 100))

    def raw() -> int:
        source = ab.get_source(
            "source-file",
            config=config,
            pip_url=f"airbyte-source-file=={version}",
            install_root=install_root("source-file", pinned),
        )
        source.select_streams(["customers"])
        dataset = source.get_records("customers", limit=100)
        return len(list(dataset))

    timings: dict[str, list[float]] = {"ours": [], "raw": []}
    for _ in range(runs):
        for name, fn in (("raw", raw), ("ours", ours)):
            start = time.perf_counter()
            assert fn() == 10
            timings[name].append(time.perf_counter() - start)
    return statistics.median(timings["ours"]), statistics.median(timings["raw"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--cold", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="fewer sources and runs")
    args = parser.parse_args()
    sources, cold, runs = (10, 4, 3) if args.quick else (args.sources, args.cold, 5)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    rows = ["| benchmark | measured | target | met |", "| --- | --- | --- | --- |"]

    def report(row: str) -> None:  # print as we go: a late failure must not lose the earlier numbers
        rows.append(row)
        print(row, flush=True)

    warm = bench_warm(sources, runs)
    met = "yes" if warm <= 1.5 else "no"
    report(f"| warm no-change plan, {sources} sources (median of {runs}) | {warm:.2f} s | ≤ 1.5 s | {met} |")
    serial, parallel = bench_cold(cold)
    ratio = parallel / serial
    met = "yes" if ratio <= 0.6 else "no"
    report(
        f"| cold plan, {cold} sources: parallelism 2 / serial | {parallel:.1f} s / {serial:.1f} s = {ratio:.2f}× | ≤ 0.6× | {met} |"
    )
    ours, raw = bench_read(3)
    overhead = ours / raw
    met = "yes" if overhead <= 1.1 else "no"
    report(
        f"| sample read, 100 records: ours / raw get_records (median of 3) | {ours:.2f} s / {raw:.2f} s = {overhead:.2f}× | ≤ 1.1× | {met} |"
    )
    print()
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
