"""The discovered shape of a source: streams, columns, types and keys.

Every connector backend returns a `Catalog`; the planner compares catalogs without knowing where they came from.

Plain frozen dataclasses, not pydantic models: importing pydantic costs a `discover` process 60-90 ms, more than
its catalog queries. The pydantic models that hold these (the applied state, the plan, the service's answers)
validate and serialise them as dataclasses, and the attribute docstrings below become their JSON-schema
descriptions. `catalog_from_json` validates a catalog read from a file (pydantic is imported only then).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import TypeAdapter

_DESCRIBED: Any = {"use_attribute_docstrings": True}  # pydantic's ConfigDict, as the plain dict it is


@dataclass(frozen=True)
class Column:
    """One column of a stream, with Airbyte's JSON-schema type reduced to one comparable word."""

    __pydantic_config__ = _DESCRIBED

    name: str
    type: str
    """string, integer, number, boolean, date, date-time, time, object, array or unknown"""
    nullable: bool = True
    json_schema: dict[str, Any] = field(default_factory=dict)
    """The property's JSON schema as discovered"""


@dataclass(frozen=True)
class ForeignKey:
    """A relationship from this stream's columns to another stream's columns (databases)."""

    __pydantic_config__ = _DESCRIBED

    columns: tuple[str, ...]
    references: str
    """The referred stream's name"""
    referred_columns: tuple[str, ...]
    referred_namespace: str | None = None

    def describe(self) -> str:
        return f"({', '.join(self.columns)}) -> {self.references}({', '.join(self.referred_columns)})"


@dataclass(frozen=True)
class TableStatistics:
    """Estimated size from the database's own statistics: shown by discover, never recorded (it always moves)."""

    estimated_rows: int | None = None
    estimated_bytes: int | None = None


@dataclass(frozen=True)
class Stream:
    __pydantic_config__ = _DESCRIBED

    name: str
    namespace: str | None = None
    """Schema (PostgreSQL) or database (MySQL); None for files"""
    columns: tuple[Column, ...] = ()
    primary_key: tuple[str, ...] = ()
    cursor: tuple[str, ...] = ()
    sync_modes: tuple[str, ...] = ("full_refresh",)
    foreign_keys: tuple[ForeignKey, ...] = ()

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Catalog:
    streams: tuple[Stream, ...] = ()

    def stream(self, name: str) -> Stream | None:
        return next((s for s in self.streams if s.name == name), None)


def as_json_data(value: Catalog | Stream | Column | ForeignKey | TableStatistics) -> dict[str, Any]:
    """Plain JSON values (tuples become lists when dumped), field by field as declared."""
    return dataclasses.asdict(value)


def catalog_to_json(catalog: Catalog) -> str:
    return json.dumps(as_json_data(catalog), separators=(",", ":"), ensure_ascii=False)


def catalog_from_json(text: str | bytes) -> Catalog:
    """A catalog from JSON, every field checked; ValueError (pydantic's ValidationError is one) when it is not."""
    return _catalog_adapter().validate_json(text)


@functools.cache
def _catalog_adapter() -> TypeAdapter[Catalog]:
    from pydantic import TypeAdapter

    return TypeAdapter(Catalog)


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
