"""PostgreSQL for the service tests: the server on 127.0.0.1:5432 (user postgres, trust) when it answers, else a
throwaway one started from the installed binaries (tests/sql/conftest.py starts it), with a database
`bmad_service_test` holding `people` (150 rows, an email column)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

DATABASE = "bmad_service_test"


@dataclass(frozen=True)
class PgServer:
    host: str = "127.0.0.1"
    port: int = 5432


def pg_connection(password: str, server: PgServer | None = None) -> dict[str, object]:
    server = server or PgServer()
    return {"host": server.host, "port": server.port, "database": DATABASE, "username": "postgres", "password": password, "schemas": ["public"]}


@contextlib.contextmanager
def postgres_for_service() -> Iterator[PgServer]:
    """The local server, or a throwaway one (skips, saying why, when neither is possible)."""
    from sql.conftest import _answers_postgres, throwaway_postgres

    if _answers_postgres("127.0.0.1", 5432):
        server = PgServer()
        ensure_database(server)
        yield server
        return
    with throwaway_postgres(None) as started:
        server = PgServer(started.host, started.port)
        ensure_database(server)
        yield server


def ensure_database(server: PgServer | None = None) -> None:
    import psycopg

    server = server or PgServer()
    where = f"host={server.host} port={server.port} user=postgres"
    with psycopg.connect(f"{where} dbname=postgres", connect_timeout=3, autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(f"create database {DATABASE}")
    with psycopg.connect(f"{where} dbname={DATABASE}", connect_timeout=3, autocommit=True) as conn:
        conn.execute("create table if not exists people (id integer primary key, name text not null, email text)")
        if conn.execute("select count(*) from people").fetchone() != (150,):
            conn.execute("delete from people")
            conn.execute("insert into people select g, 'person ' || g, 'p' || g || '@example.com' from generate_series(1, 150) g")
