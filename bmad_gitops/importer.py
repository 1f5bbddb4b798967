"""`import`: build a source definition from a discovered Catalog and connection settings. Pure.

The definition holds what discover saw (streams, primary keys, column types) and a cursor candidate per stream,
so it validates and plans clean the moment it is written. It never holds a password: only `${VAR}`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .catalog import Catalog, Stream
from .errors import ConfigError

CONNECTOR_BY_KIND = {
    "postgres": "source-postgres",
    "postgresql": "source-postgres",
    "source-postgres": "source-postgres",
    "mysql": "source-mysql",
    "mariadb": "source-mysql",
    "source-mysql": "source-mysql",
}
FILE_FORMATS = {
    "csv": ("csv", "csv"),
    "json": ("json", "json"),
    "jsonl": ("json", "jsonl"),
    "excel": ("excel", "excel"),
}

# Connection keys copied into the definition's config, in the order they are written.
_CONNECTION_KEYS = ("host", "port", "database", "username")
_OPTIONAL_KEYS = ("schemas", "ssl_mode", "jdbc_url_params", "connect_timeout", "statement_timeout")
# The definition schema's column type words; anything else the catalog says becomes `any`.
_TYPE_WORDS = frozenset({"string", "integer", "number", "boolean", "date", "date-time", "time", "object", "array"})
# Columns that usually move forward on every change, best first.
_CURSOR_NAMES = (
    "updated_at",
    "modified_at",
    "last_modified_at",
    "last_modified",
    "last_updated",
    "updated",
    "modified",
    "changed_at",
    "updated_on",
    "created_at",
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DATASET_NAME = re.compile(r"[^A-Za-z0-9_]+")


def parse_table_patterns(text: str) -> list[str]:
    """`'orders, customers*'` -> `['orders', 'customers*']` (the CLI's --tables value)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def select_streams(catalog: Catalog, tables: Sequence[str]) -> list[Stream]:
    """The streams any fnmatch pattern names (by stream name or `namespace.name`); every stream when none given.

    A pattern that matches nothing is an error: it is almost always a typo.
    """
    if not tables:
        return list(catalog.streams)
    chosen: list[Stream] = []
    for pattern in tables:
        hits = [s for s in catalog.streams if _matches(s, pattern)]
        if not hits:
            known = ", ".join(s.name for s in catalog.streams[:10]) or "none"
            raise ConfigError(f"no table matches '{pattern}'", f"tables found: {known}")
        chosen.extend(s for s in hits if s not in chosen)
    return sorted(chosen, key=lambda s: s.name)


def _matches(stream: Stream, pattern: str) -> bool:
    names = [stream.name] + ([f"{stream.namespace}.{stream.name}"] if stream.namespace else [])
    return any(fnmatch.fnmatchcase(name, pattern) for name in names)


def cursor_candidate(stream: Stream) -> str | None:
    """A column to read incrementally by: a timestamp or date named like updated_at, else an integer primary key."""
    if "incremental" not in stream.sync_modes:
        return None
    temporal = {c.name.lower(): c.name for c in stream.columns if c.type in ("date-time", "date")}
    for name in _CURSOR_NAMES:
        if name in temporal:
            return temporal[name]
    if len(stream.primary_key) == 1:
        key = stream.column(stream.primary_key[0])
        if key is not None and key.type == "integer":
            return key.name
    return None


def _stream_entry(stream: Stream, default_namespace: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": stream.name}
    if stream.namespace and stream.namespace != default_namespace:
        entry["namespace"] = stream.namespace
    if stream.primary_key:
        entry["primary_key"] = list(stream.primary_key)
    cursor = cursor_candidate(stream)
    if cursor:
        entry["cursor"] = cursor
    entry["columns"] = {c.name: c.type if c.type in _TYPE_WORDS else "any" for c in stream.columns}
    return entry


def definition_from_catalog(
    kind: str,
    connection: Mapping[str, Any],
    catalog: Catalog,
    *,
    tables: Sequence[str] = (),
    password_env: str | None = None,
) -> dict[str, Any]:
    """A `type: database` definition for `kind` (postgres, mysql, mariadb or the connector name).

    `connection` holds the definition-shaped settings (host, port, database, username, optional schemas,
    ssl_mode, ...); any password in it is ignored: the definition refers to `${password_env}` instead.
    """
    connector = CONNECTOR_BY_KIND.get(kind.lower())
    if connector is None:
        raise ConfigError(f"cannot import a database of kind '{kind}'", "use postgres or mysql")
    missing = [key for key in _CONNECTION_KEYS if connection.get(key) in (None, "")]
    if missing:
        raise ConfigError(f"connection settings lack {', '.join(missing)}", "give them on the command line")
    config: dict[str, Any] = {key: connection[key] for key in _CONNECTION_KEYS}
    config["port"] = int(config["port"])
    if password_env is not None:
        if not _ENV_NAME.match(password_env):
            raise ConfigError(f"'{password_env}' is not an environment variable name", "use a name like DB_PASSWORD")
        config["password"] = "${" + password_env + "}"
    for key in _OPTIONAL_KEYS:
        if connection.get(key) not in (None, "", []):
            config[key] = list(connection[key]) if key == "schemas" else connection[key]
    if connector == "source-mysql":
        config.pop("schemas", None)
    if config.get("schemas") == ["public"]:
        del config["schemas"]  # the default: say nothing
    default_namespace = (connection.get("schemas") or ["public"])[0] if connector == "source-postgres" else None
    if connector == "source-mysql":
        default_namespace = str(connection["database"])
    streams = [_stream_entry(s, default_namespace) for s in select_streams(catalog, tables)]
    return {"type": "database", "connector": connector, "config": config, "streams": streams}


def definition_from_file_catalog(
    url: str,
    fmt: str,
    catalog: Catalog,
    *,
    dataset_name: str | None = None,
    format_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A `type: file` definition for a local file (`url` relative to the project root), e.g. `data/x.csv`.

    `fmt` is csv, json, jsonl or excel; the dataset name defaults to the file's stem in snake_case.
    """
    if fmt not in FILE_FORMATS:
        raise ConfigError(f"cannot import a file of format '{fmt}'", f"use one of {', '.join(FILE_FORMATS)}")
    top_format, connector_format = FILE_FORMATS[fmt]
    name = dataset_name or _dataset_name(url)
    config: dict[str, Any] = {
        "dataset_name": name,
        "format": connector_format,
        "url": url,
        "provider": {"storage": "local"},
    }
    if format_options:
        config["format_options"] = dict(format_options)
    streams = [_stream_entry(s, None) for s in catalog.streams]
    return {"type": "file", "connector": "source-file", "format": top_format, "config": config, "streams": streams}


def _dataset_name(url: str) -> str:
    stem = url.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0]
    name = _DATASET_NAME.sub("_", stem).strip("_").lower() or "data"
    return name if not name[0].isdigit() else f"_{name}"
