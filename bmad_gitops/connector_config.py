"""Map a definition's `config` onto what its Airbyte connector expects: the one place that knows both shapes.

The definition format stays friendly (`format_options`, `ssl_mode: prefer`); connectors get their own spec's
shape (`reader_options` as a JSON string, `ssl_mode: {mode: prefer}`). Values pass through untouched, so this
works the same on `${VAR}` references (for validate) and on resolved values (for the live engine).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# seed-level format_options key -> pandas reader option that source-file passes on
_READER_OPTIONS = {
    "delimiter": "sep",
    "quote_char": "quotechar",
    "encoding": "encoding",
    "header_row": "header",
    "skip_rows": "skiprows",
}
_MYSQL_SSL = {
    "disable": "preferred",
    "allow": "preferred",
    "prefer": "preferred",
    "preferred": "preferred",
    "require": "required",
    "required": "required",
    "verify-ca": "verify_ca",
    "verify-full": "verify_identity",
}
_POSTGRES_SSL = {"preferred": "prefer", "required": "require"}


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
        return ConnectorCall(connector, _postgres_config(config))
    if connector == "source-mysql":
        return ConnectorCall(connector, _mysql_config(config))
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


def _postgres_config(config: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in config.items() if key != "ssl_mode"}
    mode = config.get("ssl_mode")
    if mode is not None:
        out["ssl_mode"] = {"mode": _POSTGRES_SSL.get(mode, mode)}
    out.setdefault("schemas", ["public"])
    out.setdefault("replication_method", {"method": "Standard"})
    out.setdefault("tunnel_method", {"tunnel_method": "NO_TUNNEL"})
    out.setdefault("entra_service_principal_auth", False)
    return out


def _mysql_config(config: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in config.items() if key not in ("ssl_mode", "ssl", "schemas")}
    mode = config.get("ssl_mode")
    if mode is not None:
        out["ssl_mode"] = {"mode": _MYSQL_SSL.get(mode, mode)}
    out.setdefault("replication_method", {"method": "STANDARD"})
    out.setdefault("tunnel_method", {"tunnel_method": "NO_TUNNEL"})
    return out


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
