"""Values as Airbyte records carry them: the string formats of its JDBC sources, numbers that JSON can hold.

Airbyte formats dates `yyyy-MM-dd`, timestamps `yyyy-MM-dd'T'HH:mm:ss.SSSSSS` (plus the offset, `Z` for UTC,
when the column has a time zone), times `HH:mm:ss.SSSSSS`, and marks years before Christ with a trailing ` BC`.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation

# PostgreSQL's `infinity` / `-infinity` as Airbyte emits them: pgjdbc turns them into its DATE_POSITIVE_INFINITY
# / DATE_NEGATIVE_INFINITY instants, which Airbyte then formats (seen in airbytehq/airbyte#19952; read, not run).
INFINITY_DATE = {"infinity": "+292278994-08-16", "-infinity": "+292269055-12-02 BC"}
INFINITY_TIMESTAMP = {
    "infinity": "+292278994-08-16T23:00:00.000000",
    "-infinity": "+292269055-12-02T23:00:00.000000 BC",
}
INFINITY_TIMESTAMPTZ = {
    "infinity": "+292278994-08-16T23:00:00.000000Z",
    "-infinity": "+292269055-12-02T23:00:00.000000Z BC",
}

_PG_DATETIME = re.compile(
    r"^(?P<year>\d{4,})-(?P<md>\d{2}-\d{2})"
    r"(?: (?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,6}))?(?P<offset>[+-]\d{2}(?::\d{2}){0,2})?)?"
    r"(?P<bc> BC)?$"
)
_PG_TIME = re.compile(r"^(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,6}))?(?P<offset>[+-]\d{2}(?::\d{2}){0,2})?$")


def number(value: Decimal | str) -> int | float | None:
    """Decimal -> int when integral, else float. NaN and infinities have no JSON form: null."""
    try:
        decimal = value if isinstance(value, Decimal) else Decimal(value)
    except InvalidOperation:
        return None
    if not decimal.is_finite():
        return None
    if decimal == decimal.to_integral_value():
        return int(decimal)
    return float(decimal)


def finite_float(value: float) -> float | None:
    return value if math.isfinite(value) else None


def money(text: str) -> int | float | None:
    """PostgreSQL money as text under lc_monetary C (`-$1,234.56`) -> a number, as Airbyte writes it."""
    return number(text.replace("$", "").replace(",", ""))


def _offset(text: str | None) -> str:
    if not text:
        return ""
    if text.strip("+-:0") == "":
        return "Z"
    parts = text[1:].split(":")
    return text[0] + ":".join([*parts, "00"][: max(2, len(parts))])


def _year(year: str) -> str:
    # java.time writes years of more than four digits with a leading '+'.
    return year if len(year) == 4 else "+" + year.lstrip("0").rjust(4, "0")


def pg_date(text: str) -> str:
    if text in INFINITY_DATE:
        return INFINITY_DATE[text]
    match = _PG_DATETIME.match(text)
    if not match:
        return text
    return f"{_year(match['year'])}-{match['md']}{' BC' if match['bc'] else ''}"


def pg_timestamp(text: str, *, with_timezone: bool) -> str:
    special = INFINITY_TIMESTAMPTZ if with_timezone else INFINITY_TIMESTAMP
    if text in special:
        return special[text]
    match = _PG_DATETIME.match(text)
    if not match or not match["time"]:
        return text
    frac = (match["frac"] or "").ljust(6, "0")
    offset = _offset(match["offset"]) if with_timezone else ""
    return f"{_year(match['year'])}-{match['md']}T{match['time']}.{frac}{offset}{' BC' if match['bc'] else ''}"


def pg_time(text: str) -> str:
    match = _PG_TIME.match(text)
    if not match:
        return text
    return f"{match['time']}.{(match['frac'] or '').ljust(6, '0')}{_offset(match['offset'])}"


def bytea_hex(value: bytes) -> str:
    """PostgreSQL bytea as Airbyte writes it: the server's hex form, `\\x0102ff`."""
    return "\\x" + value.hex()


def base64_text(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def date_text(value: dt.date) -> str:
    return value.isoformat()  # always four-digit years: 0001-01-01


def datetime_text(value: dt.datetime, *, with_timezone: bool) -> str:
    if value.tzinfo is not None:  # drivers hand over naive values; never print an offset
        value = value.replace(tzinfo=None)
    text = value.isoformat(timespec="microseconds")
    return text + "Z" if with_timezone else text


def duration_time(value: dt.timedelta) -> str:
    """A MySQL TIME (a duration from -838:59:59 to 838:59:59) in Airbyte's HH:mm:ss.SSSSSS, hours unbounded."""
    micros = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    seconds, micro = divmod(abs(micros), 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{sign}{hours:02d}:{minute:02d}:{second:02d}.{micro:06d}"
