"""Discover: SQLAlchemy's bulk reflection calls -> the Catalog Airbyte's JDBC source would report.

One stream per table, partitioned table, partition, view and materialized view (PostgreSQL) or table and view
(MySQL) of the configured schemas; streams with no columns are skipped, as Airbyte does.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.reflection import ObjectKind

from ...catalog import Catalog, Column, ForeignKey, Stream, column_type
from ...errors import ConnectorError
from .airbyte_types import ColumnType
from .naming import Relation, stream_names
from .settings import ConnectionSettings

SYNC_WITH_CURSOR = ("full_refresh", "incremental")
SYNC_WITHOUT_CURSOR = ("full_refresh",)


def discover_catalog(conn: Connection, settings: ConnectionSettings) -> Catalog:
    require_namespaces(conn, settings)
    inspector = inspect(conn)
    columns: dict[Relation, list[dict[str, Any]]] = {}
    keys: dict[Relation, Sequence[str]] = {}
    foreign: dict[Relation, list[dict[str, Any]]] = {}
    with warnings.catch_warnings():
        # xml, point, hstore, geometry, inet6 reflect as NullType with a warning; the type tables handle them.
        warnings.simplefilter("ignore", sa_exc.SAWarning)
        for schema in settings.namespaces:
            for (_, table), cols in inspector.get_multi_columns(schema=schema, kind=ObjectKind.ANY).items():
                columns[(schema, table)] = [dict(c) for c in cols]
            for (_, table), pk in inspector.get_multi_pk_constraint(schema=schema, kind=ObjectKind.ANY).items():
                keys[(schema, table)] = pk.get("constrained_columns") or ()
            for (_, table), fks in inspector.get_multi_foreign_keys(schema=schema, kind=ObjectKind.ANY).items():
                foreign[(schema, table)] = [dict(fk) for fk in fks]
    data_types = _mysql_null_type_names(conn, settings, columns)
    _postgres_domain_numerics(conn, settings, columns)
    default_schema = inspector.default_schema_name or settings.namespaces[0]
    names = stream_names(columns, settings.namespaces)
    type_of = _type_mapper(settings)
    streams = [
        _stream(
            relation,
            names,
            cols,
            keys.get(relation, ()),
            foreign.get(relation, []),
            type_of,
            data_types,
            default_schema,
        )
        for relation, cols in columns.items()
        if cols
    ]
    return Catalog(streams=tuple(sorted(streams, key=lambda s: (s.name, s.namespace or ""))))


def require_namespaces(conn: Connection, settings: ConnectionSettings) -> None:
    """Every configured PostgreSQL schema exists (MySQL: connecting to the database already proved it)."""
    if not settings.is_postgres:
        return
    sql = "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(:names)"
    found = {row[0] for row in conn.execute(text(sql), {"names": list(settings.schemas)})}
    missing = [schema for schema in settings.schemas if schema not in found]
    if missing:
        raise ConnectorError(
            f"{settings.connector}: schema {', '.join(missing)} does not exist in database '{settings.database}'",
            "fix config.schemas",
        )


def _mysql_null_type_names(
    conn: Connection, settings: ConnectionSettings, columns: Mapping[Relation, list[dict[str, Any]]]
) -> dict[tuple[str, str], str]:
    """information_schema's type names for MySQL columns SQLAlchemy could not type (geometry, inet6)."""
    from sqlalchemy.types import NullType

    if settings.is_postgres or not any(isinstance(c["type"], NullType) for cols in columns.values() for c in cols):
        return {}
    sql = "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = :db"
    return {(row[0], row[1]): str(row[2]) for row in conn.execute(text(sql), {"db": settings.database})}


_NUMERIC_TYPMOD = re.compile(r"numeric\((\d+),(\d+)\)")


def _postgres_domain_numerics(
    conn: Connection, settings: ConnectionSettings, columns: Mapping[Relation, list[dict[str, Any]]]
) -> None:
    """Give a domain over numeric(p, s) its precision and scale, which SQLAlchemy's domain reflection drops (it
    reads the base type without its modifier): Airbyte types a domain as its base type, numeric(p, 0) INTEGER."""
    from sqlalchemy.dialects.postgresql import DOMAIN
    from sqlalchemy.types import NUMERIC, Numeric

    if not settings.is_postgres:
        return
    domains = [
        col["type"]
        for cols in columns.values()
        for col in cols
        if isinstance(col["type"], DOMAIN)
        and isinstance(col["type"].data_type, Numeric)
        and col["type"].data_type.precision is None
    ]
    if not domains:
        return
    sql = (
        "SELECT n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod) FROM pg_catalog.pg_type t"
        " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd'"
    )
    based = {(row[0], row[1]): str(row[2]) for row in conn.execute(text(sql))}
    for domain in domains:
        # A domain on the search path is reflected without its schema: look in the configured schemas, in order.
        schemas = (domain.schema,) if domain.schema else (*settings.schemas, "public")
        base = next((based[(schema, domain.name)] for schema in schemas if (schema, domain.name) in based), "")
        typmod = _NUMERIC_TYPMOD.fullmatch(base)
        if typmod:
            domain.data_type = NUMERIC(int(typmod.group(1)), int(typmod.group(2)))


TypeMapper = Callable[[Any, str | None], ColumnType]  # (SQLAlchemy type, information_schema data_type)


def _type_mapper(settings: ConnectionSettings) -> TypeMapper:
    # Each dialect's table imports that dialect's SQLAlchemy types only: the other one is never needed.
    if settings.is_postgres:
        from .types_postgres import postgres_column_type

        return lambda sa_type, _data_type: postgres_column_type(sa_type)
    from .types_mysql import mysql_column_type

    return mysql_column_type


def _stream(
    relation: Relation,
    names: Mapping[Relation, str],
    cols: Sequence[Mapping[str, Any]],
    primary_key: Sequence[str],
    foreign_keys: Sequence[Mapping[str, Any]],
    type_of: TypeMapper,
    data_types: Mapping[tuple[str, str], str],
    default_schema: str,
) -> Stream:
    # Every value gets its field's exact type here (str, bool, tuples of str, a fresh dict per schema): the
    # dataclasses do not convert. The tests validate a discovered catalog strictly, which keeps it that way.
    schema, table = relation
    built = []
    cursor_capable = False
    for col in cols:
        name = str(col["name"])
        mapped = type_of(col["type"], data_types.get((table, name)))
        cursor_capable = cursor_capable or mapped.cursor
        word, _ = column_type(mapped.json_schema)
        built.append(
            Column(
                name=name, type=word, nullable=bool(col.get("nullable", True)), json_schema=mapped.json_schema
            )
        )
    return Stream(
        name=str(names[relation]),
        namespace=str(schema),
        columns=tuple(built),
        primary_key=tuple(map(str, primary_key)),
        cursor=(),
        sync_modes=SYNC_WITH_CURSOR if cursor_capable else SYNC_WITHOUT_CURSOR,
        foreign_keys=tuple(_foreign_key(fk, default_schema, names) for fk in foreign_keys),
    )


def _foreign_key(fk: Mapping[str, Any], default_schema: str, names: Mapping[Relation, str]) -> ForeignKey:
    # SQLAlchemy leaves referred_schema empty when the referred table is in the connection's default schema.
    referred_schema = fk.get("referred_schema") or default_schema
    referred = (referred_schema, fk["referred_table"])
    return ForeignKey(
        columns=tuple(map(str, fk["constrained_columns"])),
        references=str(names.get(referred, fk["referred_table"])),
        referred_columns=tuple(map(str, fk["referred_columns"])),
        referred_namespace=str(referred_schema),
    )
