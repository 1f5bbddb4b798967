"""The per-dialect type tables, type by type against Airbyte's mapping (DATABASES.md), without a server."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql as pg

from bmad_gitops.catalog import column_type
from bmad_gitops.connectors.sql import airbyte_types as at
from bmad_gitops.connectors.sql.types_mysql import mysql_column_type
from bmad_gitops.connectors.sql.types_postgres import postgres_column_type

POSTGRES_CASES: list[tuple[Any, dict[str, Any], bool]] = [
    (pg.INTEGER(), at.INTEGER, True),
    (sqltypes.SMALLINT(), at.INTEGER, True),
    (pg.BIGINT(), at.INTEGER, True),
    (pg.NUMERIC(10, 0), at.INTEGER, True),
    (pg.NUMERIC(10, 2), at.NUMBER, True),
    (pg.NUMERIC(), at.NUMBER, True),
    (pg.REAL(), at.NUMBER, True),
    (pg.DOUBLE_PRECISION(), at.NUMBER, True),
    (pg.MONEY(), at.NUMBER, False),
    (pg.BOOLEAN(), at.BOOLEAN, False),
    (pg.BIT(1), at.STRING, False),
    (pg.BIT(3), at.STRING, False),
    (pg.DATE(), at.DATE, True),
    (pg.TIME(), at.TIME_WITHOUT_TIMEZONE, True),
    (pg.TIME(timezone=True), at.TIME_WITH_TIMEZONE, True),
    (pg.TIMESTAMP(), at.TIMESTAMP_WITHOUT_TIMEZONE, True),
    (pg.TIMESTAMP(timezone=True), at.TIMESTAMP_WITH_TIMEZONE, True),
    (pg.VARCHAR(10), at.STRING, True),
    (pg.TEXT(), at.STRING, True),
    (pg.CHAR(3), at.STRING, True),
    (pg.JSON(), at.STRING, False),
    (pg.JSONB(), at.STRING, False),
    (pg.BYTEA(), at.STRING, False),
    (pg.UUID(), at.STRING, False),
    (pg.INET(), at.STRING, False),
    (pg.INTERVAL(), at.STRING, False),
    (pg.TSVECTOR(), at.STRING, False),
    (pg.ENUM("a", "b", name="mood"), at.STRING, False),
    (sqltypes.NullType(), at.STRING, False),
    (pg.DOMAIN("d", pg.INTEGER()), at.INTEGER, True),
    (pg.ARRAY(pg.INTEGER()), at.array_of(at.INTEGER), False),
    (pg.ARRAY(pg.NUMERIC(5, 0)), at.array_of(at.NUMBER), False),
    (pg.ARRAY(pg.TEXT()), at.array_of(at.STRING), False),
    (pg.ARRAY(pg.TIMESTAMP(timezone=True)), at.array_of(at.TIMESTAMP_WITH_TIMEZONE), False),
]

MYSQL_CASES: list[tuple[Any, str | None, dict[str, Any], bool]] = [
    (mysql.TINYINT(display_width=1), None, at.BOOLEAN, False),
    (mysql.TINYINT(display_width=4), None, at.INTEGER, True),
    (mysql.TINYINT(unsigned=True), None, at.INTEGER, True),
    (mysql.BIT(1), None, at.BOOLEAN, False),
    (mysql.BIT(8), None, at.BASE64, False),
    (mysql.SMALLINT(), None, at.INTEGER, True),
    (mysql.MEDIUMINT(unsigned=True), None, at.INTEGER, True),
    (mysql.INTEGER(), None, at.INTEGER, True),
    (mysql.BIGINT(unsigned=True), None, at.INTEGER, True),
    (mysql.YEAR(), None, at.INTEGER, True),
    (mysql.DECIMAL(10, 0), None, at.INTEGER, True),
    (mysql.DECIMAL(10, 2), None, at.NUMBER, True),
    (mysql.FLOAT(), None, at.NUMBER, True),
    (mysql.DOUBLE(asdecimal=True), None, at.NUMBER, True),
    (mysql.DATE(), None, at.DATE, True),
    (mysql.TIME(), None, at.TIME_WITHOUT_TIMEZONE, True),
    (mysql.DATETIME(), None, at.TIMESTAMP_WITHOUT_TIMEZONE, True),
    (mysql.TIMESTAMP(), None, at.TIMESTAMP_WITH_TIMEZONE, True),
    (mysql.CHAR(3), None, at.STRING, True),
    (mysql.VARCHAR(10), None, at.STRING, True),
    (mysql.LONGTEXT(), None, at.STRING, True),
    (mysql.ENUM("a", "b"), None, at.STRING, False),
    (mysql.SET("a", "c"), None, at.STRING, False),
    (mysql.JSON(), None, at.STRING, False),
    (mysql.BINARY(4), None, at.BASE64, False),
    (mysql.VARBINARY(8), None, at.BASE64, False),
    (mysql.BLOB(), None, at.BASE64, False),
    (mysql.LONGBLOB(), None, at.BASE64, False),
    (sqltypes.NullType(), "geometry", at.BASE64, False),
    (sqltypes.NullType(), "point", at.BASE64, False),
    (sqltypes.NullType(), "inet6", at.STRING, False),
]


@pytest.mark.parametrize(("sa_type", "schema", "cursor"), POSTGRES_CASES, ids=lambda v: repr(v)[:40])
def test_postgres_type_table(sa_type: Any, schema: dict[str, Any], cursor: bool) -> None:
    mapped = postgres_column_type(sa_type)
    assert mapped.json_schema == schema
    assert mapped.cursor is cursor


@pytest.mark.parametrize(("sa_type", "data_type", "schema", "cursor"), MYSQL_CASES, ids=lambda v: repr(v)[:40])
def test_mysql_type_table(sa_type: Any, data_type: str | None, schema: dict[str, Any], cursor: bool) -> None:
    mapped = mysql_column_type(sa_type, data_type)
    assert mapped.json_schema == schema
    assert mapped.cursor is cursor


def test_type_words_compare_like_the_pyairbyte_path() -> None:
    words = {name: column_type(schema)[0] for name, schema in vars(at).items() if name.isupper()}
    assert words == {
        "INTEGER": "integer",
        "NUMBER": "number",
        "BOOLEAN": "boolean",
        "STRING": "string",
        "BASE64": "string",
        "DATE": "date",
        "TIME_WITH_TIMEZONE": "time",
        "TIME_WITHOUT_TIMEZONE": "time",
        "TIMESTAMP_WITH_TIMEZONE": "date-time",
        "TIMESTAMP_WITHOUT_TIMEZONE": "date-time",
    }


def test_mapped_schemas_are_copies() -> None:
    mapped = postgres_column_type(pg.INTEGER())
    mapped.json_schema["type"] = "changed"
    assert at.INTEGER == {"type": "number", "airbyte_type": "integer"}
