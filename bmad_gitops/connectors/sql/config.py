"""A database definition's `config` in the shape of Airbyte's source-postgres / source-mysql specs.

Light on purpose: validate imports it (to check configs against the vendored specs), so no SQLAlchemy here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def postgres_config(config: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in config.items() if key != "ssl_mode"}
    mode = config.get("ssl_mode")
    if mode is not None:
        out["ssl_mode"] = {"mode": _POSTGRES_SSL.get(mode, mode)}
    out.setdefault("schemas", ["public"])
    out.setdefault("replication_method", {"method": "Standard"})
    out.setdefault("tunnel_method", {"tunnel_method": "NO_TUNNEL"})
    out.setdefault("entra_service_principal_auth", False)
    return out


def mysql_config(config: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in config.items() if key not in ("ssl_mode", "ssl", "schemas")}
    mode = config.get("ssl_mode")
    if mode is not None:
        out["ssl_mode"] = {"mode": _MYSQL_SSL.get(mode, mode)}
    out.setdefault("replication_method", {"method": "STANDARD"})
    out.setdefault("tunnel_method", {"tunnel_method": "NO_TUNNEL"})
    return out
