"""MySQL / MariaDB result values -> Airbyte record values, chosen once per column from the result's field types.

Values come from raw SQL through PyMySQL (a select through SQLAlchemy's reflected Table corrupts TIME, DOUBLE
and SET values on MariaDB). Zero dates arrive as strings and become null, as Airbyte makes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from . import values

Encoder = Callable[[Any], Any]

# pymysql.constants.FIELD_TYPE, spelled out so this module imports without the driver.
_TINY, _TIMESTAMP, _DATE, _DATETIME, _BIT = 1, 7, 10, 12, 16


def plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str | float):
        return value
    if isinstance(value, Decimal):
        return values.number(value)
    if isinstance(value, bytes | bytearray):
        return values.base64_text(bytes(value))  # binary, varbinary, blob, geometry
    if isinstance(value, dt.datetime):
        return values.datetime_text(value, with_timezone=False)
    if isinstance(value, dt.date):
        return values.date_text(value)
    if isinstance(value, dt.timedelta):
        return values.duration_time(value)
    if isinstance(value, set | frozenset):
        return ",".join(sorted(value))
    return str(value)


def _boolean(value: Any) -> Any:
    if isinstance(value, bytes):
        return int.from_bytes(value, "big") != 0
    return bool(value)


def _text(value: Any) -> Any:
    # char, varchar, text, blob, enum, set, json: str, or bytes when the column is binary
    return values.base64_text(value) if isinstance(value, bytes) else value


def _bits(value: Any) -> Any:
    return values.base64_text(value) if isinstance(value, bytes) else plain(value)


# A zero date ('0000-00-00', '2024-00-00 00:00:00') is not a date: PyMySQL hands it over as a string. One call
# per value, no wrappers: these run for every row of a sample.
def _timestamp(value: Any) -> Any:
    return None if isinstance(value, str) else values.datetime_text(value, with_timezone=True)


def _datetime(value: Any) -> Any:
    return None if isinstance(value, str) else values.datetime_text(value, with_timezone=False)


def _date(value: Any) -> Any:
    return None if isinstance(value, str) else values.date_text(value)


# Integer and float field types (tiny, short, long, float, double, longlong, int24, year): PyMySQL's values are
# already JSON values. tinyint(1) is the exception, handled first.
_NATIVE = frozenset({1, 2, 3, 4, 5, 8, 9, 13})
# varchar, json, enum, set, tiny/medium/long blob, blob, var_string, string
_TEXT = frozenset({15, 245, 247, 248, 249, 250, 251, 252, 253, 254})
_DECIMAL = frozenset({0, 246})  # decimal, newdecimal: PyMySQL's Decimal


def _encoder(type_code: int, length: int | None) -> Encoder | None:
    if type_code == _TINY and length == 1:
        return _boolean  # tinyint(1): Airbyte's JDBC URL sets tinyInt1isBit
    if type_code in _NATIVE:
        return None
    if type_code == _BIT:
        return _boolean if length == 1 else _bits
    if type_code == _TIMESTAMP:
        return _timestamp
    if type_code == _DATETIME:
        return _datetime
    if type_code == _DATE:
        return _date
    if type_code in _TEXT:
        return _text
    if type_code in _DECIMAL:
        return values.number
    return plain  # TIME durations, geometry


def column_encoders(description: Sequence[Any]) -> list[Encoder | None]:
    """One encoder per column (None: the driver's value is already what a record holds). Encoders never see None."""
    return [_encoder(int(column[1]), column[3]) for column in description]
