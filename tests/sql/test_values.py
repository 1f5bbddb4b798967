"""Airbyte's value formats, without a server."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bmad_gitops.connectors.sql import values


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (Decimal("12.50"), 12.5),
        (Decimal("12.00"), 12),
        ("123456789012345678901234567890", 123456789012345678901234567890),
        ("NaN", None),
        ("Infinity", None),
        ("-Infinity", None),
        ("not a number", None),
    ],
)
def test_number(raw: Decimal | str, expected: float | None) -> None:
    result = values.number(raw)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02", "2024-01-02"),
        ("0044-03-15 BC", "0044-03-15 BC"),
        ("10000-01-01", "+10000-01-01"),
        ("infinity", "+292278994-08-16"),
        ("-infinity", "+292269055-12-02 BC"),
    ],
)
def test_pg_date(text: str, expected: str) -> None:
    assert values.pg_date(text) == expected


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2024-01-02 03:04:05", False, "2024-01-02T03:04:05.000000"),
        ("2024-01-02 03:04:05.5", False, "2024-01-02T03:04:05.500000"),
        ("2024-01-02 03:04:05.123456+00", True, "2024-01-02T03:04:05.123456Z"),
        ("2024-01-02 03:04:05+05:30", True, "2024-01-02T03:04:05.000000+05:30"),
        ("0044-03-15 12:00:00+00 BC", True, "0044-03-15T12:00:00.000000Z BC"),
        ("infinity", False, "+292278994-08-16T23:00:00.000000"),
        ("-infinity", True, "+292269055-12-02T23:00:00.000000Z BC"),
    ],
)
def test_pg_timestamp(text: str, tz: bool, expected: str) -> None:
    assert values.pg_timestamp(text, with_timezone=tz) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("13:14:15", "13:14:15.000000"), ("24:00:00", "24:00:00.000000"), ("13:14:15.5+02", "13:14:15.500000+02:00")],
)
def test_pg_time(text: str, expected: str) -> None:
    assert values.pg_time(text) == expected


def test_money_and_binaries() -> None:
    assert values.money("-$1,234.56") == -1234.56
    assert values.money("$5.00") == 5
    assert values.bytea_hex(b"\x00\x01\xff") == "\\x0001ff"
    assert values.base64_text(b"\x00\xff\x10") == "AP8Q"


def test_mysql_durations_and_datetimes() -> None:
    assert values.duration_time(dt.timedelta(hours=838, minutes=59, seconds=59)) == "838:59:59.000000"
    assert values.duration_time(-dt.timedelta(hours=1, minutes=2, seconds=3)) == "-01:02:03.000000"
    stamp = dt.datetime(2024, 1, 2, 3, 4, 5, 123)
    assert values.datetime_text(stamp, with_timezone=True) == "2024-01-02T03:04:05.000123Z"
    assert values.date_text(dt.date(1, 1, 1)) == "0001-01-01"
