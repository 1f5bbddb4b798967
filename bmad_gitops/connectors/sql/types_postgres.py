"""PostgreSQL column types -> Airbyte JSON schema: the one table, in the order the rules are tried.

Airbyte's source-postgres rules (see /work/shared/DATABASES.md): integers and numeric(p, 0) are INTEGER, other
numerics and floats NUMBER, bit(n) and everything it does not know (json, bytea, uuid, xml, enum...) STRING,
arrays ARRAY of the element's type (numeric elements always NUMBER), domains their base type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import postgresql as pg

from . import airbyte_types as at
from .airbyte_types import ColumnType

SqlType = sqltypes.TypeEngine[Any]
Rule = Callable[[SqlType], ColumnType]


def _numeric(t: SqlType) -> ColumnType:
    precision = getattr(t, "precision", None)
    scale = getattr(t, "scale", None)
    integral = bool(precision) and scale == 0
    return ColumnType(at.INTEGER if integral else at.NUMBER, True)


def _time(t: SqlType) -> ColumnType:
    tz = getattr(t, "timezone", False)
    return ColumnType(at.TIME_WITH_TIMEZONE if tz else at.TIME_WITHOUT_TIMEZONE, True)


def _timestamp(t: SqlType) -> ColumnType:
    tz = getattr(t, "timezone", False)
    return ColumnType(at.TIMESTAMP_WITH_TIMEZONE if tz else at.TIMESTAMP_WITHOUT_TIMEZONE, True)


def _array(t: SqlType) -> ColumnType:
    item = getattr(t, "item_type", None)
    if item is None:
        return ColumnType(at.array_of(at.STRING), False)
    if isinstance(item, sqltypes.Numeric):
        # Airbyte types numeric[] (and real[], double precision[]) elements as NUMBER whatever their scale.
        return ColumnType(at.array_of(at.NUMBER), False)
    return ColumnType(at.array_of(postgres_column_type(item).json_schema), False)


def _domain(t: SqlType) -> ColumnType:
    return postgres_column_type(getattr(t, "data_type", None) or sqltypes.NullType())


def _fixed(schema: at.JsonSchema, cursor: bool) -> Rule:
    return lambda _t: ColumnType(schema, cursor)


# (SQLAlchemy class, rule). First match wins, so subclasses come before their bases (ENUM is a String,
# REAL/DOUBLE PRECISION are Numeric, TIMESTAMP is a DateTime).
TYPE_RULES: tuple[tuple[type[Any], Rule], ...] = (
    (pg.DOMAIN, _domain),
    (sqltypes.ARRAY, _array),
    (sqltypes.Boolean, _fixed(at.BOOLEAN, False)),
    (sqltypes.Integer, _fixed(at.INTEGER, True)),
    (sqltypes.Float, _fixed(at.NUMBER, True)),
    (sqltypes.Numeric, _numeric),
    (pg.MONEY, _fixed(at.NUMBER, False)),
    (sqltypes.Date, _fixed(at.DATE, True)),
    (sqltypes.Time, _time),
    (sqltypes.DateTime, _timestamp),
    (pg.BIT, _fixed(at.STRING, False)),
    (sqltypes.Enum, _fixed(at.STRING, False)),
    (sqltypes.String, _fixed(at.STRING, True)),
)
FALLBACK = ColumnType(at.STRING, False)  # json, jsonb, bytea, uuid, inet, interval, xml, point, NullType, ...


def postgres_column_type(sa_type: SqlType) -> ColumnType:
    for cls, rule in TYPE_RULES:
        if isinstance(sa_type, cls):
            return rule(sa_type).copy()
    return FALLBACK.copy()
