"""Time the Docker-free SQL backend on PostgreSQL and MariaDB.

1. discover of a schema with 200 tables x 10 columns, as a whole process (`python -c` that imports the backend
   and discovers), the way `bmad-gitops discover` pays for it. Target: at most 0.5 s.
2. test extraction of 100 rows (SqlBackend.read, connect included) against a bare psycopg / PyMySQL connect +
   fetch of the same rows in the same process. Target: at most 1.5x.
3. for information, no target: `bmad-gitops discover` itself on a project holding that schema's definition (made
   by `bmad-gitops import`), against the whole discover process of 1. The CLI also starts click, validates the
   definition (2,800 lines), reads the table statistics (on the same connection) and renders the catalog.

Uses the servers on 127.0.0.1:5432 (user postgres, trust) and 127.0.0.1:3306 (root, no password), or the ports
given. Creates a `bench_sql` schema / database, drops it afterwards, and prints a Markdown table of medians.
Run: `.venv/bin/python benchmarks/bench_sql.py [--runs 7] [--pg-port 5432] [--mysql-port 3306]`.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bmad_gitops.connectors.sql.backend import SqlBackend  # noqa: E402
from bmad_gitops.connectors.sql.config import mysql_config, postgres_config  # noqa: E402

CLI = [sys.executable, "-m", "bmad_gitops"]
CLI_ENV = {**os.environ, "NO_COLOR": "1"}
TABLES = 200
COLUMNS = 10
ROWS = 100
TARGET_DISCOVER_S = 0.5
TARGET_READ_RATIO = 1.5
NAME = "bench_sql"
COLUMN_TYPES = ["integer", "varchar(40)", "numeric(10,2)", "date", "timestamp", "boolean", "text", "bigint",
                "double precision", "varchar(10)"]  # fmt: skip
MYSQL_TYPES = ["int", "varchar(40)", "decimal(10,2)", "date", "datetime", "tinyint(1)", "text", "bigint", "double",
               "varchar(10)"]  # fmt: skip


def _columns(types: list[str]) -> str:
    return ", ".join(f"c{i} {types[i]}" + (" PRIMARY KEY" if i == 0 else "") for i in range(COLUMNS))


def _row(n: int) -> str:
    return (f"({n}, 'name {n}', {n}.25, '2024-01-{n % 28 + 1:02d}', '2024-01-02 03:04:{n % 60:02d}', {n % 2 == 0},"
            f" 'some longer text for row {n}', {n * 1000}, {n}.5, 'x{n}')")  # fmt: skip


def setup_postgres(port: int) -> dict[str, Any]:
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {NAME} CASCADE")
        conn.execute(f"CREATE SCHEMA {NAME}")
        for t in range(TABLES):
            conn.execute(f"CREATE TABLE {NAME}.t{t:03d} ({_columns(COLUMN_TYPES)})")
        rows = ", ".join(_row(n) for n in range(ROWS))
        conn.execute(f"INSERT INTO {NAME}.t000 VALUES {rows}")
    return postgres_config({"host": "127.0.0.1", "port": port, "database": "postgres", "username": "postgres",
                            "schemas": [NAME], "ssl_mode": "disable"})  # fmt: skip


def setup_mysql(port: int) -> dict[str, Any]:
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {NAME}")
        cur.execute(f"CREATE DATABASE {NAME}")
        for t in range(TABLES):
            cur.execute(f"CREATE TABLE {NAME}.t{t:03d} ({_columns(MYSQL_TYPES)})")
        rows = ", ".join(_row(n) for n in range(ROWS))
        cur.execute(f"INSERT INTO {NAME}.t000 VALUES {rows}")
    conn.close()
    return mysql_config({"host": "127.0.0.1", "port": port, "database": NAME, "username": "root", "password": ""})


def teardown(pg_port: int, mysql_port: int) -> None:
    with psycopg.connect(host="127.0.0.1", port=pg_port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {NAME} CASCADE")
    conn2 = pymysql.connect(host="127.0.0.1", port=mysql_port, user="root", password="", autocommit=True)
    with conn2.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {NAME}")
    conn2.close()


def paired_medians(ours: Callable[[], object], baseline: Callable[[], object], runs: int) -> tuple[float, float]:
    """Medians of both jobs, run alternately so that a busy machine slows both alike."""
    ours()  # warm-up: caches, the server's buffers
    baseline()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for job, bucket in ((ours, times[0]), (baseline, times[1])):
            started = time.perf_counter()
            job()
            bucket.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def discover_process(connector: str, config: dict[str, Any]) -> Callable[[], object]:
    code = (
        "import sys; from bmad_gitops.connectors.sql.backend import SqlBackend;"
        f" c = SqlBackend({connector!r}).discover({config!r});"
        f" assert len(c.streams) == {TABLES}, len(c.streams)"
    )
    return lambda: subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def import_floor(driver: str) -> Callable[[], object]:
    """A process that only imports what discover must import (SQLAlchemy, the driver, the pydantic catalog)."""
    code = f"import sqlalchemy, sqlalchemy.engine.reflection, {driver}, bmad_gitops.catalog"
    return lambda: subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def cli_project(root: Path, kind: str, port: int) -> tuple[Path, str]:
    """A project whose one definition `bmad-gitops import` wrote from the benchmark schema (all 200 tables)."""
    project = root / kind
    (project / "sources").mkdir(parents=True)
    (project / ".git").mkdir()  # the project root marker
    database = ["--database", "postgres", "--username", "postgres", "--schema", NAME] if kind == "postgres" else [
        "--database", NAME, "--username", "root"]  # fmt: skip
    command = [*CLI, "import", kind, "bench", "--host", "127.0.0.1", "--port", str(port), *database]
    subprocess.run(command, check=True, cwd=project, env=CLI_ENV, stdout=subprocess.DEVNULL)
    return project, "bench"


def cli_discover(project: Path, name: str) -> Callable[[], object]:
    command = [*CLI, "discover", name]
    return lambda: subprocess.run(command, check=True, cwd=project, env=CLI_ENV, stdout=subprocess.DEVNULL)


def bare_postgres(port: int) -> Callable[[], object]:
    def fetch() -> object:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres") as conn:
            return conn.execute(f"SELECT * FROM {NAME}.t000 LIMIT {ROWS}").fetchall()

    return fetch


def bare_mysql(port: int) -> Callable[[], object]:
    # ssl_disabled: PyMySQL 1.2's default (try TLS) loads the system CA store on every connect, 30-150 ms, which
    # would flatter the backend (it builds a bare TLS context instead). Compare against the fastest bare fetch.
    def fetch() -> object:
        conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="", database=NAME, ssl_disabled=True)
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT * FROM t000 LIMIT {ROWS}")
                return cur.fetchall()
        finally:
            conn.close()

    return fetch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--mysql-port", type=int, default=3306)
    args = parser.parse_args()
    configs = {"PostgreSQL": ("source-postgres", "psycopg", setup_postgres(args.pg_port), bare_postgres(args.pg_port)),
               "MariaDB": ("source-mysql", "pymysql", setup_mysql(args.mysql_port), bare_mysql(args.mysql_port))}  # fmt: skip
    lines = ["| engine | measure | bmad-gitops | baseline | ratio | target | met |", "|---|---|---|---|---|---|---|"]
    missed = 0
    projects = tempfile.TemporaryDirectory(prefix="bench-sql-cli-")
    try:
        for engine, (connector, driver, config, bare) in configs.items():
            backend = SqlBackend(connector)
            discover, floor = paired_medians(discover_process(connector, config), import_floor(driver), args.runs)
            ok = discover <= TARGET_DISCOVER_S
            missed += not ok
            lines.append(f"| {engine} | discover {TABLES} tables x {COLUMNS} columns (whole process; baseline: the"
                         f" imports alone) | {discover:.3f} s | {floor:.3f} s | {discover / floor:.2f}x"
                         f" | <= {TARGET_DISCOVER_S} s | {'yes' if ok else 'NO'} |")  # fmt: skip
            assert len(backend.read(config, "t000", ROWS)) == ROWS
            read = functools.partial(backend.read, config, "t000", ROWS)
            ours, base = paired_medians(read, bare, args.runs * 3)
            ratio = ours / base
            ok = ratio <= TARGET_READ_RATIO
            missed += not ok
            lines.append(f"| {engine} | read {ROWS} rows (connect included) | {ours * 1000:.1f} ms | {base * 1000:.1f} ms"
                         f" | {ratio:.2f}x | <= {TARGET_READ_RATIO}x | {'yes' if ok else 'NO'} |")  # fmt: skip
            kind = "postgres" if connector == "source-postgres" else "mysql"
            project, name = cli_project(Path(projects.name), kind, args.pg_port if kind == "postgres" else args.mysql_port)
            cli, process = paired_medians(cli_discover(project, name), discover_process(connector, config), args.runs)
            lines.append(f"| {engine} | `bmad-gitops discover` of that schema (CLI; baseline: the discover process"
                         f" above; information) | {cli:.3f} s | {process:.3f} s | {cli / process:.2f}x | - | - |")  # fmt: skip
    finally:
        projects.cleanup()
        teardown(args.pg_port, args.mysql_port)
    print("\n".join(lines))
    print(
        f"\nload average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {args.runs} runs (reads: {args.runs * 3})"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
