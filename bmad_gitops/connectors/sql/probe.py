"""Check: connect, authenticate, SELECT 1, the configured schemas exist, and at least one table is readable."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ...errors import ConnectorError
from .failures import connector_error
from .naming import POSTGRES_STREAM_RELKINDS
from .quoting import quote_mysql
from .reflect import require_namespaces
from .settings import ConnectionSettings

# Enough tries to get past a few locked-down tables without probing a huge schema table by table.
_MYSQL_TRIES = 20


def check_source(conn: Connection, settings: ConnectionSettings) -> None:
    conn.execute(text("SELECT 1"))
    require_namespaces(conn, settings)
    if settings.is_postgres:
        _postgres_readable(conn, settings)
    else:
        _mysql_readable(conn, settings)


def _no_tables(settings: ConnectionSettings) -> ConnectorError:
    where = f"schema {', '.join(settings.schemas)}" if settings.is_postgres else f"database '{settings.database}'"
    return ConnectorError(
        f"{settings.connector}: user '{settings.username}' sees no table or view in {where}",
        "create a table, or grant the user access to one",
    )


def _postgres_readable(conn: Connection, settings: ConnectionSettings) -> None:
    rows = conn.execute(
        text(
            "SELECT n.nspname, c.relname, has_table_privilege(c.oid, 'SELECT') FROM pg_catalog.pg_class c"
            " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE n.nspname = ANY(:names) AND c.relkind IN {POSTGRES_STREAM_RELKINDS} ORDER BY 1, 2"
        ),
        {"names": list(settings.schemas)},
    ).all()
    if not rows:
        raise _no_tables(settings)
    if not any(row[2] for row in rows):
        first = rows[0]
        raise ConnectorError(
            f"{settings.connector}: permission denied: user '{settings.username}' cannot read any table"
            f" in schema {', '.join(settings.schemas)} (first: {first[0]}.{first[1]})",
            f"run GRANT SELECT ON ALL TABLES IN SCHEMA {first[0]} TO {settings.username}",
        )


def _mysql_readable(conn: Connection, settings: ConnectionSettings) -> None:
    from sqlalchemy.exc import DBAPIError

    names = (
        conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :db ORDER BY table_name"),
            {"db": settings.database},
        )
        .scalars()
        .all()
    )
    if not names:
        raise _no_tables(settings)
    first_error: ConnectorError | None = None
    for name in names[:_MYSQL_TRIES]:
        table = f"{settings.database}.{name}"
        try:
            conn.exec_driver_sql(f"SELECT 1 FROM {quote_mysql(settings.database)}.{quote_mysql(name)} LIMIT 0").all()
            return
        except DBAPIError as exc:
            first_error = first_error or connector_error(exc, settings, table=table)
    assert first_error is not None
    raise first_error
