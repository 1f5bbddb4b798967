"""PostgreSQL on 127.0.0.1:5432 (user postgres, trust) for the service tests: a database `bmad_service_test`
with `people` (150 rows, an email column). Skips loudly when the server does not answer."""

from __future__ import annotations

import pytest

DATABASE = "bmad_service_test"


def pg_connection(password: str) -> dict[str, object]:
    return {"host": "127.0.0.1", "port": 5432, "database": DATABASE, "username": "postgres", "password": password, "schemas": ["public"]}


def ensure_database() -> None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3, autocommit=True) as conn:
            if conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone() is None:
                conn.execute(f"create database {DATABASE}")
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={DATABASE}", connect_timeout=3, autocommit=True) as conn:
            conn.execute("create table if not exists people (id integer primary key, name text not null, email text)")
            if conn.execute("select count(*) from people").fetchone() != (150,):
                conn.execute("delete from people")
                conn.execute("insert into people select g, 'person ' || g, 'p' || g || '@example.com' from generate_series(1, 150) g")
    except Exception as exc:  # any reason the database is not there: say it loudly, do not fail
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 (user postgres, trust) is not reachable: {type(exc).__name__}: {exc}")
