"""Read up to N records of one stream: raw SQL in a read-only transaction with a statement timeout, a
server-side cursor on the SELECT only, values encoded as Airbyte records would carry them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...errors import ConnectorError
from . import records_mysql, records_postgres
from .connection import connect_mysql, mysql_session_settings, open_postgres
from .failures import connector_error
from .naming import POSTGRES_STREAM_RELKINDS, relation_for
from .quoting import quote_mysql, quote_postgres
from .settings import ConnectionSettings


def read_records(
    settings: ConnectionSettings, stream: str, limit: int, columns: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    if limit < 0:
        raise ConnectorError(f"{settings.connector}: cannot read {limit} records", "ask for 0 or more")
    if columns is not None and not columns:
        raise ConnectorError(f"{settings.connector}: no columns asked for in {stream}", "list at least one column")
    if settings.is_postgres:
        return _read_postgres(settings, stream, limit, columns)
    return _read_mysql(settings, stream, limit, columns)


def _driver_errors(settings: ConnectionSettings) -> tuple[type[BaseException], ...]:
    if settings.is_postgres:
        import psycopg

        return (psycopg.Error, OSError)
    import pymysql

    return (pymysql.Error, OSError)


def _read_postgres(
    settings: ConnectionSettings, stream: str, limit: int, columns: Sequence[str] | None
) -> list[dict[str, Any]]:
    table: str | None = None
    try:
        conn = open_postgres(settings)
    except _driver_errors(settings) as exc:
        raise connector_error(exc, settings) from None
    try:
        conn.autocommit = True  # the transaction is opened by hand below, in the same round trip as the rest
        records_postgres.register_text_loaders(conn)
        cur = conn.cursor()
        relation = _postgres_relation(cur, settings, stream)
        table = f"{relation[0]}.{relation[1]}"
        select = ", ".join(map(quote_postgres, columns)) if columns else "*"
        sql = f"SELECT {select} FROM {quote_postgres(relation[0])}.{quote_postgres(relation[1])} LIMIT {int(limit)}"
        # One round trip: a read-only transaction, its LOCAL settings (they end with it) and a server-side cursor
        # for the SELECT alone. Then one FETCH. Closing the connection ends transaction and cursor together.
        cur.execute(
            "BEGIN READ ONLY;"
            f" SET LOCAL statement_timeout = {settings.statement_timeout * 1000};"
            " SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL lc_monetary = 'C';"
            f" DECLARE bmad_gitops_sample NO SCROLL CURSOR FOR {sql}"
        )
        if not limit:
            return []
        cur.execute(f"FETCH FORWARD {int(limit)} FROM bmad_gitops_sample")
        rows = cur.fetchall()
        description = cur.description
        encoders = records_postgres.column_encoders(description, conn)
        return _records([column.name for column in description], encoders, rows)
    except _driver_errors(settings) as exc:
        raise connector_error(exc, settings, table=table) from None
    finally:
        conn.close()


def _postgres_relation(cur: Any, settings: ConnectionSettings, stream: str) -> tuple[str, str]:
    if len(settings.schemas) == 1 and "." not in stream:
        return settings.schemas[0], stream  # one schema: no lookup (a missing table fails the SELECT itself)
    # `schema.table` names a table that an earlier schema's table of the same name shadows (see naming.py).
    candidates = [stream, stream.split(".", 1)[1]] if "." in stream else [stream]
    cur.execute(
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE n.nspname = ANY(%s) AND c.relname = ANY(%s) AND c.relkind IN {POSTGRES_STREAM_RELKINDS}",
        (list(settings.schemas), candidates),
    )
    relation = relation_for(stream, [(row[0], row[1]) for row in cur.fetchall()], settings.schemas)
    if relation is None:
        raise ConnectorError(
            f"{settings.connector}: no stream '{stream}' in schema {', '.join(settings.schemas)}",
            "run discover to see the streams",
        )
    return relation


def _read_mysql(
    settings: ConnectionSettings, stream: str, limit: int, columns: Sequence[str] | None
) -> list[dict[str, Any]]:
    import pymysql.cursors

    table = f"{settings.database}.{stream}"
    try:
        conn = connect_mysql(settings, multi_statements=True)
    except _driver_errors(settings) as exc:
        raise connector_error(exc, settings) from None
    try:
        select = ", ".join(map(quote_mysql, columns)) if columns else "*"
        sql = f"SELECT {select} FROM {quote_mysql(settings.database)}.{quote_mysql(stream)} LIMIT {int(limit)}"
        session = mysql_session_settings(conn.get_server_info(), settings.statement_timeout)
        # One round trip: the session settings (read-only, the statement timeout, UTC), then the SELECT, which
        # an unbuffered cursor streams instead of loading the whole result first. A failing SET stops the rest.
        with conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(f"{session}; {sql}")
            cur.nextset()  # past the SET's OK to the SELECT's rows (its errors surface here)
            rows = cur.fetchmany(limit) if limit else []
            description = cur.description
        encoders = records_mysql.column_encoders(description)
        return _records([column[0] for column in description], encoders, rows)
    except _driver_errors(settings) as exc:
        raise connector_error(exc, settings, table=table) from None
    finally:
        conn.close()


def _records(
    names: list[str], encoders: Sequence[Callable[[Any], Any] | None], rows: Sequence[Sequence[Any]]
) -> list[dict[str, Any]]:
    # Only columns that need it pay for a call, and nulls never do: 100 rows x 10 columns stay cheap.
    special = [(name, encode) for name, encode in zip(names, encoders, strict=True) if encode is not None]
    records = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        for name, encode in special:
            value = record[name]
            if value is not None:
                record[name] = encode(value)
        records.append(record)
    return records
