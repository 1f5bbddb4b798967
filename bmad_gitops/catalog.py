"""The discovered shape of a source: streams, columns, types and keys.

Every connector backend returns a `Catalog`; the planner compares catalogs without knowing where they came from.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# defer_build: validators and serializers are built on first use, not at import. A database discover builds its
# catalog with model_construct from values it has already typed, so a `discover` process never pays for them.

class Column(BaseModel):
    """One column of a stream, with Airbyte's JSON-schema type reduced to one comparable word."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    type: str = Field(description="string, integer, number, boolean, date, date-time, time, object, array or unknown")
    nullable: bool = True
    json_schema: dict[str, Any] = Field(default_factory=dict, description="The property's JSON schema as discovered")


class ForeignKey(BaseModel):
    """A relationship from this stream's columns to another stream's columns (databases)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    columns: tuple[str, ...]
    references: str = Field(description="The referred stream's name")
    referred_columns: tuple[str, ...]
    referred_namespace: str | None = None

    def describe(self) -> str:
        return f"({', '.join(self.columns)}) -> {self.references}({', '.join(self.referred_columns)})"


class TableStatistics(BaseModel):
    """Estimated size from the database's own statistics: shown by discover, never recorded (it always moves)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    estimated_rows: int | None = None
    estimated_bytes: int | None = None


class Stream(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    namespace: str | None = Field(default=None, description="Schema (PostgreSQL) or database (MySQL); None for files")
    columns: tuple[Column, ...] = ()
    primary_key: tuple[str, ...] = ()
    cursor: tuple[str, ...] = ()
    sync_modes: tuple[str, ...] = ("full_refresh",)
    foreign_keys: tuple[ForeignKey, ...] = ()

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    streams: tuple[Stream, ...] = ()

    def stream(self, name: str) -> Stream | None:
        return next((s for s in self.streams if s.name == name), None)


def column_type(prop: dict[str, Any]) -> tuple[str, bool]:
    """Reduce an Airbyte JSON-schema property to (type word, nullable).

    Airbyte writes types as `"type": ["null", "string"]` plus `format` / `airbyte_type` refinements; the word we
    keep is what a data engineer would call the column's type.
    """
    raw = prop.get("type", [])
    types = [raw] if isinstance(raw, str) else list(raw)
    nullable = "null" in types or not types
    concrete = sorted(t for t in types if t != "null")
    airbyte_type = prop.get("airbyte_type", "")
    fmt = prop.get("format", "")
    if airbyte_type == "integer" or concrete == ["integer"]:
        return "integer", nullable
    if fmt in ("date-time", "date", "time") or airbyte_type.startswith(("timestamp", "date", "time")):
        if fmt == "date" or airbyte_type == "date":
            return "date", nullable
        if fmt == "time" or airbyte_type.startswith("time_"):
            return "time", nullable
        return "date-time", nullable
    if len(concrete) == 1:
        return concrete[0], nullable
    if not concrete:
        return "unknown", True
    return "|".join(concrete), nullable


def catalog_from_json_schemas(streams: dict[str, dict[str, Any]], keys: dict[str, Any] | None = None) -> Catalog:
    """Build a catalog from `{stream: json_schema}`, the shape PyAirbyte and the database backends both have."""
    keys = keys or {}
    built = []
    for name in sorted(streams):
        props = streams[name].get("properties", {}) or {}
        cols = []
        for col in sorted(props):
            word, nullable = column_type(props[col])
            cols.append(Column(name=col, type=word, nullable=nullable, json_schema=props[col]))
        info = keys.get(name, {})
        built.append(
            Stream(
                name=name,
                columns=tuple(cols),
                primary_key=tuple(info.get("primary_key", ())),
                cursor=tuple(info.get("cursor", ())),
                sync_modes=tuple(sorted(info.get("sync_modes", ("full_refresh",)))),
            )
        )
    return Catalog(streams=tuple(built))
