"""MySQL / MariaDB column types -> Airbyte JSON schema: the one table, in the order the rules are tried.

Airbyte's source-mysql rules (see /work/shared/DATABASES.md): tinyint(1) and bit(1) are BOOLEAN (its JDBC URL
sets tinyInt1isBit), other integers and year INTEGER, decimal(p, 0) INTEGER, `timestamp` a timestamp with time
zone and `datetime` one without, binaries, blobs, bit(n > 1) and geometry BASE64, text, enum, set and json STRING.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import mysql

from . import airbyte_types as at
from .airbyte_types import ColumnType

SqlType = sqltypes.TypeEngine[Any]
Rule = Callable[[SqlType], ColumnType]

# SQLAlchemy reflects these as NullType; information_schema.columns.data_type tells them apart.
GEOMETRY_TYPES = frozenset(
    {
        "geometry",
        "point",
        "linestring",
        "polygon",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
    }
)


def _tinyint(t: SqlType) -> ColumnType:
    if getattr(t, "display_width", None) == 1:
        return ColumnType(at.BOOLEAN, False)
    return ColumnType(at.INTEGER, True)


def _bit(t: SqlType) -> ColumnType:
    if getattr(t, "length", None) in (None, 1):
        return ColumnType(at.BOOLEAN, False)
    return ColumnType(at.BASE64, False)


def _decimal(t: SqlType) -> ColumnType:
    return ColumnType(at.INTEGER if getattr(t, "scale", None) == 0 else at.NUMBER, True)


def _fixed(schema: at.JsonSchema, cursor: bool) -> Rule:
    return lambda _t: ColumnType(schema, cursor)


# (SQLAlchemy class, rule). First match wins: TINYINT before Integer, Float before Numeric, mysql TIMESTAMP
# before DateTime, ENUM and SET before String.
TYPE_RULES: tuple[tuple[type[Any], Rule], ...] = (
    (mysql.TINYINT, _tinyint),
    (mysql.BIT, _bit),
    (sqltypes.Boolean, _fixed(at.BOOLEAN, False)),
    (mysql.YEAR, _fixed(at.INTEGER, True)),
    (sqltypes.Integer, _fixed(at.INTEGER, True)),
    (sqltypes.Float, _fixed(at.NUMBER, True)),
    (sqltypes.Numeric, _decimal),
    (mysql.TIMESTAMP, _fixed(at.TIMESTAMP_WITH_TIMEZONE, True)),
    (sqltypes.DateTime, _fixed(at.TIMESTAMP_WITHOUT_TIMEZONE, True)),
    (sqltypes.Date, _fixed(at.DATE, True)),
    (sqltypes.Time, _fixed(at.TIME_WITHOUT_TIMEZONE, True)),
    (sqltypes.Enum, _fixed(at.STRING, False)),
    (mysql.SET, _fixed(at.STRING, False)),
    (sqltypes.JSON, _fixed(at.STRING, False)),
    (sqltypes._Binary, _fixed(at.BASE64, False)),
    (sqltypes.String, _fixed(at.STRING, True)),
)
FALLBACK = ColumnType(at.STRING, False)  # inet6, uuid and other types SQLAlchemy does not know


def mysql_column_type(sa_type: SqlType, data_type: str | None = None) -> ColumnType:
    """`data_type` is information_schema's name, needed only where reflection gives NullType (geometry)."""
    if isinstance(sa_type, sqltypes.NullType) and data_type and data_type.lower() in GEOMETRY_TYPES:
        return ColumnType(at.BASE64, False).copy()
    for cls, rule in TYPE_RULES:
        if isinstance(sa_type, cls):
            return rule(sa_type).copy()
    return FALLBACK.copy()
