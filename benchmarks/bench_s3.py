"""Cold and warm discovery of S3 sources (source-s3 4.14.2 via PyAirbyte) against a local moto_server.

Where the time goes, per source:
- start-up: a connector process that only prints its spec (PyAirbyte + the connector's Python start-up);
- listing: the bucket listed by our own boto3 call (`s3_listing.list_objects`), the same ListObjectsV2 the
  connector makes before it infers a schema;
- discover: start-up + listing + opening up to 10 recent files to infer the schema;
- read: `read(limit=100)` of one stream after its discover (the backend keeps the discovered source).

Cold = a fresh Python process: `import airbyte`, then each source's discover, one after the other. Warm = the same
process, a second round (airbyte imported, the connector's files in the page cache, new connector processes).

Usage: .venv/bin/python benchmarks/bench_s3.py [--sources 5] [--files 3] [--rows 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONNECTOR, PINNED = "source-s3", "4.14.2"


def csv_body(rows: int, seed: int) -> str:
    lines = ["id,name,amount,active,created"]
    lines += [
        f"{i},name-{seed}-{i},{i * 1.25:.2f},{'true' if i % 2 else 'false'},2026-01-{1 + i % 28:02d}"
        for i in range(rows)
    ]
    return "\n".join(lines) + "\n"


def jsonl_body(rows: int, seed: int) -> str:
    return "".join(
        json.dumps({"id": i, "kind": f"k{seed}", "score": i / 10, "tags": ["a"]}) + "\n" for i in range(rows)
    )


def definitions(server: Any, sources: int, files: int, rows: int) -> list[dict[str, Any]]:
    """One bucket per source, each with a CSV stream and a JSONL stream of `files` objects each."""
    client = server.client()
    configs = []
    for n in range(sources):
        bucket = f"bench-{n:02d}"
        client.create_bucket(Bucket=bucket)
        objects: dict[str, str | bytes] = {}
        for f in range(files):
            objects[f"exports/part-{f:03d}.csv"] = csv_body(rows, n * 100 + f)
            objects[f"events/part-{f:03d}.jsonl"] = jsonl_body(rows, n * 100 + f)
        server.put(bucket, objects)
        configs.append(
            server.definition(
                bucket,
                [
                    {"name": "exports", "globs": ["exports/*.csv"], "format": "csv"},
                    {"name": "events", "globs": ["events/*.jsonl"], "format": "jsonl"},
                ],
            )
        )
    client.create_bucket(Bucket="bench-tiny")
    server.put("bench-tiny", {"exports/one.csv": csv_body(2, 0)})
    configs.append(server.definition("bench-tiny", [{"name": "exports", "globs": ["exports/*.csv"], "format": "csv"}]))
    return configs


def child(configs_path: str) -> None:
    """Run in a fresh interpreter: time import, two discovery rounds, start-up, listing and reads; print JSON."""
    started = time.perf_counter()
    from bmad_gitops.connectors.pyairbyte.backend import PyAirbyteBackend
    from bmad_gitops.connectors.pyairbyte.runtime import load_airbyte
    from bmad_gitops.connectors.pyairbyte.source_s3 import s3_config
    from bmad_gitops.connectors.s3_listing import list_objects

    *configs, tiny = [s3_config(c) for c in json.loads(Path(configs_path).read_text(encoding="utf-8"))]
    backend = PyAirbyteBackend(CONNECTOR, PINNED)
    backend.version()  # installed already (the parent made sure); reads a marker file

    t = time.perf_counter()
    load_airbyte()
    import_s = time.perf_counter() - t

    def timed(call: Any) -> float:
        t = time.perf_counter()
        call()
        return time.perf_counter() - t

    cold = [timed(lambda c=c: backend.discover(c)) for c in configs]
    cold_total = time.perf_counter() - started
    warm = [timed(lambda c=c: backend.discover(c)) for c in configs]
    warm_again = [timed(lambda c=c: backend.discover(c)) for c in configs]
    tiny_discover = [timed(lambda: backend.discover(tiny)) for _ in range(3)]
    listing = [timed(lambda c=c: list_objects(c)) for c in configs]
    listing_warm = [timed(lambda c=c: list_objects(c)) for c in configs]
    startup = [timed(backend.spec) for _ in range(3)]
    reads = [timed(lambda c=c: backend.read(c, "exports", 100)) for c in configs]
    rows = len(backend.read(configs[0], "exports", 100))
    print(
        json.dumps(
            {
                "import_airbyte_s": import_s,
                "cold_process_total_s": cold_total,
                "cold_discover_s": cold,
                "warm_discover_s": warm,
                "warm_discover_again_s": warm_again,
                "tiny_discover_s": tiny_discover,
                "listing_first_s": listing,
                "listing_s": listing_warm,
                "startup_spec_s": startup,
                "read_100_s": reads,
                "read_rows": rows,
                "objects_per_bucket": len(list_objects(configs[0])),
            }
        )
    )


def summary(result: dict[str, Any], args: argparse.Namespace) -> str:
    med = statistics.median

    def row(label: str, values: list[float]) -> str:
        return f"| {label} | {med(values):.2f} | {min(values):.2f}–{max(values):.2f} | {sum(values):.2f} |"

    startup = med(result["startup_spec_s"])
    warm_all = result["warm_discover_s"] + result["warm_discover_again_s"]
    warm = med(warm_all)
    tiny = med(result["tiny_discover_s"])
    lines = [
        f"{args.sources} sources × 2 streams × {args.files} files × {args.rows} rows "
        f"({result['objects_per_bucket']} objects per bucket), moto_server on 127.0.0.1",
        "",
        "| step | median (s) | min–max (s) | total (s) |",
        "|---|---:|---:|---:|",
        f"| `import airbyte` (once per process) | {result['import_airbyte_s']:.2f} | | |",
        row("cold discover, per source (first round)", result["cold_discover_s"]),
        row("warm discover, per source (second round)", result["warm_discover_s"]),
        row("warm discover, per source (third round)", result["warm_discover_again_s"]),
        row("discover of a 1-file, 2-row bucket (×3)", result["tiny_discover_s"]),
        row("connector start-up only (`spec`)", result["startup_spec_s"]),
        row("listing, our boto3 call (first per bucket)", result["listing_first_s"]),
        row("listing, our boto3 call (again)", result["listing_s"]),
        row("read 100 records of one stream", result["read_100_s"]),
        "",
        f"cold process (interpreter start to the 5th catalog): {result['cold_process_total_s']:.2f} s; "
        f"warm round: {sum(result['warm_discover_s']):.2f} s",
        f"warm discover (median of rounds 2 and 3) {warm:.2f} s = start-up {startup:.2f} s "
        f"({100 * startup / warm:.0f}%) + discover protocol and listing {tiny - startup:.2f} s "
        f"(1-file bucket minus start-up) + inferring from {result['objects_per_bucket']} objects "
        f"{warm - tiny:.2f} s; our own listing of a bucket: {med(result['listing_s']) * 1000:.0f} ms",
        f"read returned {result['read_rows']} rows",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sources", type=int, default=5)
    parser.add_argument("--files", type=int, default=3, help="objects per stream")
    parser.add_argument("--rows", type=int, default=1000, help="rows per object")
    parser.add_argument("--json", type=Path, help="also write the raw timings here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0

    from bmad_gitops.connectors.pyairbyte.install import ensure_installed
    from tests.s3.conftest import start_moto_server, stop_moto_server

    ensure_installed(CONNECTOR, PINNED)
    process, server = start_moto_server()
    try:
        configs = definitions(server, args.sources, args.files, args.rows)
        handle, name = tempfile.mkstemp(prefix="bench_s3_", suffix=".json")  # holds moto's keys: deleted below
        configs_path = Path(name)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(configs, file)
        try:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(configs_path)],
                check=True,
                capture_output=True,
                text=True,
                cwd=REPO,
            ).stdout
        finally:
            configs_path.unlink(missing_ok=True)
    finally:
        stop_moto_server(process)
    result = json.loads(out.strip().splitlines()[-1])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(summary(result, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
