"""Identifier quoting for raw SQL: every table and column name goes through here, mixed case and spaces included."""

from __future__ import annotations


def quote_postgres(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_mysql(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
