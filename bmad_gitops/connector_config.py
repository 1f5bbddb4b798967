"""Map a definition's `config` onto what its Airbyte connector expects: the one place that knows both shapes.

The definition format stays friendly (`format_options`, `ssl_mode: prefer`); connectors get their own spec's
shape (`reader_options` as a JSON string, `ssl_mode: {mode: prefer}`). Values pass through untouched, so this
works the same on `${VAR}` references (for validate) and on resolved values (for the live engine).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .connectors.sql.config import mysql_config, postgres_config

# seed-level format_options key -> pandas reader option that source-file passes on
_READER_OPTIONS = {
    "delimiter": "sep",
    "quote_char": "quotechar",
    "encoding": "encoding",
    "header_row": "header",
    "skip_rows": "skiprows",
}
@dataclass(frozen=True)
class ConnectorCall:
    """A connector name, the config in that connector's own shape, and what the config cannot say."""

    connector: str
    config: dict[str, Any]
    sheets: tuple[str, ...] | None = None
    streams: tuple[str, ...] = field(default=())


def connector_call(definition: dict[str, Any]) -> ConnectorCall:
    kind = definition["type"]
    connector = definition["connector"]
    config = dict(definition.get("config") or {})
    if kind == "file":
        return _file_call(connector, config)
    if connector == "source-postgres":
        return ConnectorCall(connector, postgres_config(config))
    if connector == "source-mysql":
        return ConnectorCall(connector, mysql_config(config))
    if kind == "s3":
        return ConnectorCall(connector, _s3_config(config))
    return ConnectorCall(connector, config)


def _file_call(connector: str, config: dict[str, Any]) -> ConnectorCall:
    options = dict(config.pop("format_options", None) or {})
    sheets = options.pop("sheets", None)
    reader = {_READER_OPTIONS[key]: value for key, value in sorted(options.items()) if key in _READER_OPTIONS}
    if config.get("format") == "jsonl":
        reader["lines"] = True
    if reader:
        config["reader_options"] = json.dumps(reader, sort_keys=True)
    return ConnectorCall(connector, config, tuple(sheets) if sheets else None)


def _s3_config(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"bucket": config["bucket"]}
    for ours, theirs in (
        ("aws_access_key_id", "aws_access_key_id"),
        ("aws_secret_access_key", "aws_secret_access_key"),
        ("endpoint", "endpoint"),
        ("region", "region_name"),
    ):
        if ours in config:
            out[theirs] = config[ours]
    out["streams"] = [
        {
            "name": s["name"],
            "globs": list(s["globs"]),
            "format": {"filetype": s["format"]},
            "validation_policy": "Emit Record",
        }
        for s in config.get("streams", [])
    ]
    return out
