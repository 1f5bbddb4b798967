"""PostgreSQL result values -> Airbyte record values, chosen once per column from the result's type OIDs.

Dates, times, numerics, money and JSON arrive as text (see TEXT_TYPES): psycopg's own loaders abort a whole
fetch on `infinity`, BC dates or NaN, and reorder jsonb keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from . import values

Encoder = Callable[[Any], Any]

# Loaded as the server's text, then formatted by the encoders below.
TEXT_TYPES = ("date", "timestamp", "timestamptz", "time", "timetz", "interval", "numeric", "money", "json", "jsonb")


def register_text_loaders(conn: Any) -> None:
    from psycopg.types.string import TextLoader

    for name in TEXT_TYPES:
        conn.adapters.register_loader(name, TextLoader)


def plain(value: Any) -> Any:
    """Any other value: JSON's own types pass, the rest become their text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return values.finite_float(value)
    if isinstance(value, Decimal):
        return values.number(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return values.bytea_hex(bytes(value))
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


_BY_TYPE: dict[str, Encoder] = {
    "date": values.pg_date,
    "timestamp": lambda v: values.pg_timestamp(v, with_timezone=False),
    "timestamptz": lambda v: values.pg_timestamp(v, with_timezone=True),
    "time": values.pg_time,
    "timetz": values.pg_time,
    "numeric": values.number,
    "money": values.money,
    "bytea": lambda v: values.bytea_hex(bytes(v)),
}


# Types psycopg already returns as JSON values (int, str, bool): no per-value work at all.
NATIVE_TYPES = frozenset({"int2", "int4", "int8", "oid", "text", "varchar", "bpchar", "name", "bool", "char"})


def _array(encode: Encoder) -> Encoder:
    def each(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [each(item) for item in value]
        return encode(value)

    return each


def column_encoders(description: Sequence[Any], conn: Any) -> list[Encoder | None]:
    """One encoder per column (None: the driver's value is already what a record holds). Encoders never see None."""
    encoders: list[Encoder | None] = []
    for column in description:
        info = conn.adapters.types.get(column.type_code)
        if info is None:
            encoders.append(plain)
        elif info.array_oid == column.type_code:
            encoders.append(_array(_BY_TYPE.get(info.name, plain)))
        elif info.name in NATIVE_TYPES:
            encoders.append(None)
        else:
            encoders.append(_BY_TYPE.get(info.name, plain))
    return encoders
