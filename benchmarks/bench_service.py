"""Benchmark of the HTTP service: a bounded load generator (asyncio + httpx) against `create_app` served by
uvicorn in a subprocess on 127.0.0.1, so the load and the server do not share a GIL.

1. GET /connectors and GET /config (a project of 50 sources): 50 concurrent connections for 10 s each;
   target 0 errors; reports requests/s, p50, p99.
2. POST /read of a file source, served from the sample cache (one warm-up read first): same load; p99.
3. POST /read of 100 rows from PostgreSQL on 127.0.0.1:5432 (user postgres, trust), an ad-hoc config: never
   cached (remote), so every call runs in a worker process; 4 connections (2 workers); p50. Skipped, saying so,
   when PostgreSQL does not answer.

Usage: .venv/bin/python benchmarks/bench_service.py [--seconds 10] [--connections 50] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from service.conftest import make_keys, make_project  # noqa: E402 - the test project and keys: one way to build them
from service.pg import DATABASE, pg_connection  # noqa: E402

API = "/api/v1/data-sources"
SERVER = """
import sys, uvicorn
from pathlib import Path
from bmad_gitops.service.app import create_app
from bmad_gitops.service.settings import ServiceSettings
root, port, workers = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
settings = ServiceSettings(port=port, workers=workers, requests_per_minute=10**9, read_limit_max=1000)
if __name__ == "__main__":
    uvicorn.run(create_app(root, settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


def _project(folder: Path, sources: int) -> Path:
    root = make_project(folder)
    template = (root / "sources" / "customers.yaml").read_text(encoding="utf-8")
    for index in range(sources - 1):
        name = f"customers_{index:02d}"
        (root / "sources" / f"{name}.yaml").write_text(template.replace("dataset_name: customers", f"dataset_name: {name}"), encoding="utf-8")
    return Path(root)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


Request = Callable[[httpx.AsyncClient], Coroutine[Any, Any, httpx.Response]]


async def _load(url: str, key: str, request: Request, connections: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    warm: list[float] = []  # without each connection's first request (its TCP connect)
    errors = 0
    deadline = time.perf_counter() + seconds

    async def one_connection() -> None:
        # One client per connection: a single httpx pool shared by 50 tasks tops out near 85 req/s here (its
        # pool bookkeeping, not the server), which would measure the generator instead of the service.
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, limits=httpx.Limits(max_connections=1), timeout=120) as client:
            first = True
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await request(client)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                if first:
                    first = False
                else:
                    warm.append(latencies[-1])
                errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "p99_warm_ms": 1000 * _percentile(warm, 0.99),
    }


def _report(name: str, figures: dict[str, float]) -> None:
    print(
        f"{name:<44} {int(figures['requests']):>7} req  {int(figures['errors']):>3} errors  {figures['rps']:>8.0f} req/s"
        f"  p50 {figures['p50_ms']:>7.1f} ms  p99 {figures['p99_ms']:>7.1f} ms (warm connections {figures['p99_warm_ms']:.1f} ms)"
    )


def _postgres_ready() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    import pytest

    try:
        from service.pg import ensure_database

        ensure_database()
    except pytest.skip.Exception as exc:
        return str(exc)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-service-"))
    try:
        root = _project(folder / "project", 50)
        keys = make_keys(root / ".bmad-gitops" / "service" / "keys.json")
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(root), str(port), str(args.workers)], env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            else:
                raise SystemExit("the service did not start")
            print(f"bmad-gitops service on {url}, {args.workers} workers; {args.connections} connections for {args.seconds:g} s\n")

            def run(request: Request, connections: int = args.connections) -> dict[str, float]:
                return asyncio.run(_load(url, keys.admin, request, connections, args.seconds))

            _report("GET /connectors", run(lambda c: c.get(f"{API}/connectors")))
            _report("GET /config (50 sources)", run(lambda c: c.get(f"{API}/config")))
            body = {"source": "customers", "stream_name": "customers", "limit": 100}
            started = time.perf_counter()
            warm = httpx.post(f"{url}{API}/read", json=body, headers={"X-API-Key": keys.admin}, timeout=300)
            print(f"{'(warm-up: first POST /read, cold worker)':<44} {warm.status_code} in {time.perf_counter() - started:.1f} s")
            _report("POST /read file source (cached)", run(lambda c: c.post(f"{API}/read", json=body)))
            problem = _postgres_ready()
            if problem is not None:
                print(f"POST /read PostgreSQL: SKIPPED, PostgreSQL on 127.0.0.1:5432 not usable ({problem})")
            else:
                pg = {"connector_type": "postgres", "config": pg_connection("unused-in-trust"), "stream_name": "people", "limit": 100}
                httpx.post(f"{url}{API}/read", json=pg, headers={"X-API-Key": keys.admin}, timeout=300)  # warm each import once
                _report(f"POST /read PostgreSQL {DATABASE}.people 100 rows", run(lambda c: c.post(f"{API}/read", json=pg), 4))
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
