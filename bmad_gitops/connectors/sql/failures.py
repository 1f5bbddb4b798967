"""Turn driver and SQLAlchemy exceptions into one-line ConnectorErrors that name the cause and the fix.

Messages are built from the settings (host, port, user, database), never from the password; a driver's own text
is only used as a last resort, with the password scrubbed out of it.
"""

from __future__ import annotations

import re
import socket

from ...errors import ConnectorError
from .settings import ConnectionSettings

_MYSQL_CODE = re.compile(r"^\(?(\d{4})\b")


def driver_message(exc: BaseException) -> str:
    """The innermost driver error's first line (SQLAlchemy wraps it as `.orig`)."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner.args[1]) if _is_mysql_pair(inner) else str(inner)
    return text.strip().splitlines()[0] if text.strip() else type(inner).__name__


def _is_mysql_pair(exc: BaseException) -> bool:
    return len(exc.args) >= 2 and isinstance(exc.args[0], int)


def _mysql_code(exc: BaseException) -> int | None:
    inner = getattr(exc, "orig", None) or exc
    if _is_mysql_pair(inner):
        return int(inner.args[0])
    match = _MYSQL_CODE.match(str(inner))
    return int(match.group(1)) if match else None


def _sqlstate(exc: BaseException) -> str | None:
    inner = getattr(exc, "orig", None) or exc
    state = getattr(inner, "sqlstate", None)
    return str(state) if state else None


def connector_error(exc: BaseException, settings: ConnectionSettings, *, table: str | None = None) -> ConnectorError:
    """The ConnectorError for `exc`; `table` names the relation being read, when there is one."""
    if isinstance(exc, ConnectorError):
        return exc
    found = _postgres(exc, settings, table) if settings.is_postgres else _mysql(exc, settings, table)
    if found is not None:
        return found
    text = driver_message(exc)
    if settings.password:
        text = text.replace(settings.password, "***")
    return ConnectorError(f"{settings.connector}: {settings.address}: {text}", "check the connection settings")


def _common(text: str, s: ConnectionSettings) -> ConnectorError | None:
    lowered = text.lower()
    if "connection refused" in lowered or ("can't connect" in lowered and "111" in lowered):
        return ConnectorError(
            f"{s.connector}: connection refused at {s.address}",
            "start the database server, or fix config.host / config.port",
        )
    if "timeout expired" in lowered or "timed out" in lowered:
        return ConnectorError(
            f"{s.connector}: no answer from {s.address} within {s.connect_timeout} s",
            "check host, port and firewall, or raise config.connect_timeout",
        )
    if "could not translate host name" in lowered or "name or service not known" in lowered or "getaddrinfo" in lowered:
        return ConnectorError(f"{s.connector}: unknown host '{s.host}'", "fix config.host")
    return None


def _permission(s: ConnectionSettings, table: str | None) -> ConnectorError:
    what = f"table {table}" if table else "a table"
    grant = f"GRANT SELECT ON {table or '<table>'} TO {s.username}"
    return ConnectorError(f"{s.connector}: permission denied: user '{s.username}' cannot read {what}", f"run {grant}")


def _statement_timeout(s: ConnectionSettings, table: str | None) -> ConnectorError:
    return ConnectorError(
        f"{s.connector}: reading {table or 'the database'} took longer than {s.statement_timeout} s and was cancelled",
        "raise config.statement_timeout, or read fewer records",
    )


def _postgres(exc: BaseException, s: ConnectionSettings, table: str | None) -> ConnectorError | None:
    text = driver_message(exc)
    lowered = text.lower()
    state = _sqlstate(exc)
    if state == "42501":
        return _permission(s, table)
    if state == "57014":
        return _statement_timeout(s, table)
    if state == "42P01" and table:
        return ConnectorError(f"{s.connector}: table {table} does not exist", "run discover to see the streams")
    if state == "42703" and table:
        return ConnectorError(f"{s.connector}: {table} lacks a requested column", "run discover to see its columns")
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return ConnectorError(
            f"{s.connector}: {s.address} rejected the password for user '{s.username}'",
            "check the password's environment variable and config.username",
        )
    if f'role "{s.username.lower()}" does not exist' in lowered or f'role "{s.username}" does not exist' in text:
        return ConnectorError(
            f"{s.connector}: user '{s.username}' does not exist on {s.address}", "fix config.username"
        )
    if "database" in lowered and "does not exist" in lowered:
        return ConnectorError(
            f"{s.connector}: database '{s.database}' does not exist on {s.address}", "fix config.database"
        )
    if "server does not support ssl" in lowered:
        return ConnectorError(
            f"{s.connector}: {s.address} does not offer TLS but ssl_mode is {s.ssl_mode}",
            "enable TLS on the server, or set ssl_mode: prefer",
        )
    if "no encryption" in lowered or "ssl off" in lowered:
        return ConnectorError(
            f"{s.connector}: {s.address} accepts only TLS connections from this host",
            "set ssl_mode: require",
        )
    if "certificate" in lowered or ("ssl" in lowered and "verify" in lowered):
        return ConnectorError(
            f"{s.connector}: TLS certificate of {s.address} could not be verified ({s.ssl_mode})",
            "give ssl_mode.ca_certificate, or use ssl_mode: require",
        )
    if "no pg_hba.conf entry" in lowered:
        return ConnectorError(
            f"{s.connector}: {s.address} does not allow user '{s.username}' from this host",
            "add a pg_hba.conf entry on the server",
        )
    return _common(text, s)


def _mysql(exc: BaseException, s: ConnectionSettings, table: str | None) -> ConnectorError | None:
    code = _mysql_code(exc)
    text = driver_message(exc)
    if code == 1045:
        return ConnectorError(
            f"{s.connector}: {s.address} denied access to user '{s.username}' (wrong password or unknown user)",
            "check the password's environment variable and config.username",
        )
    if code == 1049:
        return ConnectorError(
            f"{s.connector}: database '{s.database}' does not exist on {s.address}", "fix config.database"
        )
    if code == 1044:
        return ConnectorError(
            f"{s.connector}: user '{s.username}' has no access to database '{s.database}'",
            f"run GRANT SELECT ON {s.database}.* TO '{s.username}'",
        )
    if code in (1142, 1143):
        return _permission(s, table)
    if code in (1969, 3024):  # MariaDB max_statement_time, MySQL max_execution_time
        return _statement_timeout(s, table)
    if code == 1146 and table:
        return ConnectorError(f"{s.connector}: table {table} does not exist", "run discover to see the streams")
    if code == 1054 and table:
        return ConnectorError(f"{s.connector}: {table} lacks a requested column", "run discover to see its columns")
    if code == 3159:
        return ConnectorError(f"{s.connector}: {s.address} accepts only TLS connections", "set ssl_mode: required")
    if code == 2026 and "support" in text.lower():
        return ConnectorError(
            f"{s.connector}: {s.address} does not offer TLS but ssl_mode is {s.ssl_mode}",
            "enable TLS on the server, or set ssl_mode: preferred",
        )
    if code == 2026 or ("ssl" in text.lower() and "certificate" in text.lower()):
        return ConnectorError(
            f"{s.connector}: TLS with {s.address} failed ({s.ssl_mode})",
            "give ssl_mode.ca_certificate, or use ssl_mode: required",
        )
    inner = getattr(exc, "orig", None) or exc
    if isinstance(inner, socket.timeout | TimeoutError):
        return _common("timed out", s)
    return _common(text, s)
