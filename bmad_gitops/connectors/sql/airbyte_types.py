"""Airbyte's JSON-schema column types, as its JDBC sources write them into a discovered catalog.

Both dialect tables (types_postgres, types_mysql) map onto these, so a type means the same on either engine.
"""

from __future__ import annotations

from typing import Any, NamedTuple

JsonSchema = dict[str, Any]

INTEGER: JsonSchema = {"type": "number", "airbyte_type": "integer"}
NUMBER: JsonSchema = {"type": "number"}
BOOLEAN: JsonSchema = {"type": "boolean"}
STRING: JsonSchema = {"type": "string"}
BASE64: JsonSchema = {"type": "string", "contentEncoding": "base64"}
DATE: JsonSchema = {"type": "string", "format": "date"}
TIME_WITH_TIMEZONE: JsonSchema = {"type": "string", "format": "time", "airbyte_type": "time_with_timezone"}
TIME_WITHOUT_TIMEZONE: JsonSchema = {"type": "string", "format": "time", "airbyte_type": "time_without_timezone"}
TIMESTAMP_WITH_TIMEZONE: JsonSchema = {
    "type": "string",
    "format": "date-time",
    "airbyte_type": "timestamp_with_timezone",
}
TIMESTAMP_WITHOUT_TIMEZONE: JsonSchema = {
    "type": "string",
    "format": "date-time",
    "airbyte_type": "timestamp_without_timezone",
}


def array_of(items: JsonSchema) -> JsonSchema:
    return {"type": "array", "items": items}


class ColumnType(NamedTuple):
    """A column's Airbyte JSON schema, and whether Airbyte would offer it as an incremental cursor."""

    json_schema: JsonSchema
    cursor: bool

    def copy(self) -> ColumnType:
        # Callers put the schema into frozen catalog models; never hand out the shared constants themselves.
        return ColumnType(_deep_copy(self.json_schema), self.cursor)


def _deep_copy(schema: JsonSchema) -> JsonSchema:
    return {key: _deep_copy(value) if isinstance(value, dict) else value for key, value in schema.items()}
