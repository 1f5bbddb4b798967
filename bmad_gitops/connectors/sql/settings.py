"""Read the connector config (Airbyte's spec shape, secrets revealed) into one typed value. Pure, no SQLAlchemy.

Everything that can be wrong in the config itself (an SSH tunnel, an unknown TLS mode, a JDBC parameter with no
driver equivalent) fails here with one line, before any socket opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import ConnectorError

POSTGRES = "source-postgres"
MYSQL = "source-mysql"
CONNECTORS = (POSTGRES, MYSQL)

DEFAULT_CONNECT_TIMEOUT = 10
DEFAULT_STATEMENT_TIMEOUT = 30

# Airbyte's spec modes -> what the drivers understand. PostgreSQL keeps libpq's names; MySQL's are Airbyte's own.
_POSTGRES_SSL = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_MYSQL_SSL = ("preferred", "required", "verify_ca", "verify_identity")

# JDBC URL parameters people put in jdbc_url_params, and the libpq / PyMySQL keyword each one becomes.
_JDBC_POSTGRES = {
    "ApplicationName": "application_name",
    "applicationName": "application_name",
    "options": "options",
    "sslmode": "sslmode",
    "sslrootcert": "sslrootcert",
    "sslcert": "sslcert",
    "sslkey": "sslkey",
    "connectTimeout": "connect_timeout",
}
_JDBC_MYSQL = {"connectTimeout": "connect_timeout", "characterEncoding": "charset"}
# JDBC-only switches that have no effect on a Python driver; accepting them keeps Airbyte configs usable.
_JDBC_IGNORED = frozenset(
    {"tinyInt1isBit", "zeroDateTimeBehavior", "useSSL", "allowPublicKeyRetrieval", "serverTimezone"}
)


@dataclass(frozen=True)
class ConnectionSettings:
    connector: str
    host: str
    port: int
    database: str
    username: str
    password: str | None
    schemas: tuple[str, ...]
    ssl_mode: str
    ca_certificate: str | None
    connect_timeout: int
    statement_timeout: int
    driver_params: tuple[tuple[str, str], ...]

    @property
    def is_postgres(self) -> bool:
        return self.connector == POSTGRES

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Schemas (PostgreSQL) or the database (MySQL) that streams come from, in priority order."""
        return self.schemas if self.is_postgres else (self.database,)


def connection_settings(connector: str, config: Mapping[str, Any]) -> ConnectionSettings:
    if connector not in CONNECTORS:
        raise ConnectorError(f"{connector}: not a database connector", f"use one of {', '.join(CONNECTORS)}")
    tunnel = config.get("tunnel_method") or {}
    if isinstance(tunnel, Mapping) and tunnel.get("tunnel_method", "NO_TUNNEL") != "NO_TUNNEL":
        raise ConnectorError(
            f"{connector}: SSH tunnels are not supported yet", "reach the database directly, or remove tunnel_method"
        )
    missing = [key for key in ("host", "port", "database", "username") if not config.get(key)]
    if missing:
        raise ConnectorError(f"{connector}: config lacks {', '.join(missing)}", "add them under config:")
    postgres = connector == POSTGRES
    ssl_mode, ca = _ssl(connector, config)
    password = config.get("password")
    return ConnectionSettings(
        connector=connector,
        host=str(config["host"]),
        port=int(config["port"]),
        database=str(config["database"]),
        username=str(config["username"]),
        password=None if password in (None, "") else str(password),
        schemas=tuple(config.get("schemas") or ("public",)) if postgres else (),
        ssl_mode=ssl_mode,
        ca_certificate=ca,
        connect_timeout=_seconds(connector, config, "connect_timeout", DEFAULT_CONNECT_TIMEOUT),
        statement_timeout=_seconds(connector, config, "statement_timeout", DEFAULT_STATEMENT_TIMEOUT),
        driver_params=_jdbc_params(connector, str(config.get("jdbc_url_params") or "")),
    )


def _ssl(connector: str, config: Mapping[str, Any]) -> tuple[str, str | None]:
    raw = config.get("ssl_mode")
    spec: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {"mode": raw} if raw else {}
    mode = spec.get("mode")
    allowed: tuple[str, ...]
    if connector == POSTGRES:
        if mode is None:
            # The definition's `ssl: false|true` switch, when no ssl_mode says more (Airbyte's default is prefer).
            ssl = config.get("ssl")
            mode = "disable" if ssl is False else "require" if ssl is True else "prefer"
        allowed = _POSTGRES_SSL
    else:
        mode = mode or "preferred"
        allowed = _MYSQL_SSL
    if mode not in allowed:
        raise ConnectorError(f"{connector}: unknown ssl_mode '{mode}'", f"use one of {', '.join(allowed)}")
    ca = spec.get("ca_certificate")
    return str(mode), str(ca) if ca else None


def _seconds(connector: str, config: Mapping[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConnectorError(
            f"{connector}: {key} must be a whole number of seconds, at least 1", f"set {key}: {default}"
        )
    return value


def _jdbc_params(connector: str, text: str) -> tuple[tuple[str, str], ...]:
    table = _JDBC_POSTGRES if connector == POSTGRES else _JDBC_MYSQL
    params: list[tuple[str, str]] = []
    for pair in filter(None, text.split("&")):
        key, sep, value = pair.partition("=")
        if key in _JDBC_IGNORED:
            continue
        if not sep or key not in table:
            raise ConnectorError(
                f"{connector}: jdbc_url_params key '{key}' has no equivalent in the native driver",
                f"remove it; supported keys: {', '.join(sorted(table))}",
            )
        params.append((table[key], value))
    return tuple(params)
