"""Estimated rows and bytes per stream from the database's own statistics: no table is scanned."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ...catalog import TableStatistics
from .naming import POSTGRES_STREAM_RELKINDS, stream_names
from .settings import ConnectionSettings

# reltuples is -1 until the table is first vacuumed or analyzed (PostgreSQL 14+): unknown, not empty.
_POSTGRES = (
    "SELECT n.nspname, c.relname, c.reltuples::bigint,"
    " CASE WHEN c.relkind IN ('r', 'p', 'm') THEN pg_total_relation_size(c.oid) END"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    f" WHERE n.nspname = ANY(:names) AND c.relkind IN {POSTGRES_STREAM_RELKINDS}"
)
_MYSQL = (
    "SELECT table_schema, table_name, table_rows, data_length + index_length"
    " FROM information_schema.tables WHERE table_schema = :db"
)


def table_statistics(conn: Connection, settings: ConnectionSettings) -> dict[str, TableStatistics]:
    if settings.is_postgres:
        rows = conn.execute(text(_POSTGRES), {"names": list(settings.schemas)}).all()
    else:
        rows = conn.execute(text(_MYSQL), {"db": settings.database}).all()
    names = stream_names(((row[0], row[1]) for row in rows), settings.namespaces)
    # ints or None, as the dataclass declares: it does not convert.
    stats = {
        names[(row[0], row[1])]: TableStatistics(
            estimated_rows=None if row[2] is None or row[2] < 0 else int(row[2]),
            estimated_bytes=None if row[3] is None else int(row[3]),
        )
        for row in rows
    }
    return dict(sorted(stats.items()))
