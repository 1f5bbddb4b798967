"""Open connections. open_postgres / open_mysql make every DBAPI connection (timeouts, TLS, session settings);
the SQLAlchemy engine for reflection gets its dialect from a `URL.create` URL (never a formatted string, so no
password can leak into a host name) and its connections from those same two functions.

Sample reads use the DBAPI connection alone: they are raw SQL anyway, and SQLAlchemy's import and start-up
queries would cost more than reading 100 rows. A MySQL sample read takes connect_mysql's connection (open_mysql
without the session SET) and sends mysql_session_settings() together with its SELECT.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import ssl
import tempfile
from typing import TYPE_CHECKING, Any

from .settings import ConnectionSettings

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

_DRIVER = {True: "postgresql+psycopg", False: "mysql+pymysql"}
_pem_dir: str | None = None


def database_url(settings: ConnectionSettings) -> URL:
    from sqlalchemy.engine import URL

    query = {"charset": "utf8mb4"} if not settings.is_postgres else {}
    return URL.create(
        _DRIVER[settings.is_postgres],
        username=settings.username,
        password=settings.password,
        host=settings.host,
        port=settings.port,
        database=settings.database,
        query=query,
    )


def driver_arguments(settings: ConnectionSettings) -> dict[str, Any]:
    """Keyword arguments for psycopg.connect / pymysql.connect: the same fields as database_url(), as separate
    values (no string to parse, so no password can spill into another field), then timeouts, TLS and extras.

    Built directly rather than through SQLAlchemy's dialect: a sample read then needs no SQLAlchemy at all.
    """
    kwargs: dict[str, Any] = {"host": settings.host, "port": settings.port, "user": settings.username}
    if settings.password is not None:
        kwargs["password"] = settings.password
    if settings.is_postgres:
        kwargs["dbname"] = settings.database
        kwargs.update(_postgres_arguments(settings))
    else:
        kwargs.update(database=settings.database, charset="utf8mb4", password=settings.password or "")
        kwargs.update(_mysql_arguments(settings))
    kwargs.update(dict(settings.driver_params))
    if "connect_timeout" in kwargs:
        kwargs["connect_timeout"] = int(kwargs["connect_timeout"])
    return dict(kwargs)


def _postgres_arguments(settings: ConnectionSettings) -> dict[str, Any]:
    args: dict[str, Any] = {
        "connect_timeout": settings.connect_timeout,
        "sslmode": settings.ssl_mode,
        "application_name": "bmad-gitops",
    }
    if settings.ca_certificate:
        args["sslrootcert"] = _pem_file(settings.ca_certificate)
    return args


def _mysql_arguments(settings: ConnectionSettings) -> dict[str, Any]:
    # PyMySQL's connect_timeout covers only the TCP connect: a listener that accepts and stays silent would hang
    # the handshake for a minute. read/write timeouts bound it; open_mysql() widens read_timeout afterwards.
    return {
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.connect_timeout,
        "write_timeout": settings.connect_timeout,
        "autocommit": None,  # keep the server's default rather than spend a round trip changing it
        "ssl": _mysql_ssl_context(settings),
    }


def _mysql_ssl_context(settings: ConnectionSettings) -> ssl.SSLContext:
    return _ssl_context(settings.ssl_mode, settings.ca_certificate)


@functools.lru_cache(maxsize=16)
def _ssl_context(mode: str, ca_certificate: str | None) -> ssl.SSLContext:
    # One context per (mode, CA text) for the whole process: building one costs 0.2 ms (a bare one) to 150 ms (one
    # that loads the system CA store), as much as a whole sample read; a client context is safe to share.
    if mode in ("preferred", "required"):
        # Encrypt without verifying, as Airbyte's preferred/required do. A bare context on purpose: loading the
        # system CA store (what PyMySQL's own default does) costs 30-150 ms on every connection.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    ca = _pem_file(ca_certificate) if ca_certificate else None
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = mode == "verify_identity"
    return context


def _pem_file(text: str) -> str:
    """Drivers want a CA certificate as a file; Airbyte's spec carries its text. One private file per content."""
    global _pem_dir
    if _pem_dir is None:
        _pem_dir = tempfile.mkdtemp(prefix="bmad-gitops-tls-")
        atexit.register(shutil.rmtree, _pem_dir, True)
    path = os.path.join(_pem_dir, hashlib.sha256(text.encode()).hexdigest()[:16] + ".pem")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    return path


def create_database_engine(settings: ConnectionSettings) -> Engine:
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    # SQLAlchemy takes its dialect from the URL and its connections from the same functions sample reads use.
    opener = open_postgres if settings.is_postgres else open_mysql
    # Reflection, checks and statistics never read an hstore value: skip the dialect's hstore lookup at connect.
    extra = {"use_native_hstore": False} if settings.is_postgres else {}
    return sqlalchemy.create_engine(
        database_url(settings), creator=lambda: opener(settings), poolclass=NullPool, **extra
    )


def open_postgres(settings: ConnectionSettings) -> Any:
    import psycopg

    return psycopg.connect(**driver_arguments(settings))


def open_mysql(settings: ConnectionSettings) -> Any:
    """A connection with the session settings applied (one more round trip): what SQLAlchemy's engine gets."""
    conn = connect_mysql(settings)
    with conn.cursor() as cursor:
        cursor.execute(mysql_session_settings(conn.get_server_info(), settings.statement_timeout))
    return conn


def connect_mysql(settings: ConnectionSettings, *, multi_statements: bool = False) -> Any:
    """A connection whose caller sends mysql_session_settings() itself before anything else. A sample read sends it
    with its SELECT in one round trip (`multi_statements`: its SQL is ours alone, every identifier quoted)."""
    import pymysql
    from pymysql.constants import CLIENT

    flags = CLIENT.MULTI_STATEMENTS if multi_statements else 0
    conn = pymysql.connect(**driver_arguments(settings), client_flag=flags, defer_connect=True)
    if settings.ssl_mode == "preferred" and hasattr(conn, "_ssl_required"):
        # PyMySQL 1.2 treats any `ssl` argument as "required"; preferred carries on in clear text when the server
        # offers no TLS (what older PyMySQL always did).
        conn._ssl_required = False
    conn.connect()
    # Once connected, a read may legitimately take up to the statement timeout; the server enforces that limit
    # and the client waits a little longer so the server's own error (not a socket timeout) is what we see.
    conn._read_timeout = settings.statement_timeout + settings.connect_timeout
    if settings.ssl_mode != "preferred":
        require_mysql_tls(conn, settings)
    return conn


def mysql_session_settings(server_version: str, seconds: int) -> str:
    """One SET for the whole session: read-only, a statement timeout, UTC timestamps. bmad-gitops never writes.

    MariaDB: max_statement_time in seconds (any statement), tx_read_only. MySQL: max_execution_time in ms
    (SELECT only), transaction_read_only (tx_read_only is gone since 8.0).
    """
    if "mariadb" in server_version.lower():
        return f"SET SESSION time_zone = '+00:00', max_statement_time = {seconds}, tx_read_only = 1"
    return f"SET SESSION time_zone = '+00:00', max_execution_time = {seconds * 1000}, transaction_read_only = 1"


def require_mysql_tls(conn: Any, settings: ConnectionSettings) -> None:
    """Refuse a clear-text connection when ssl_mode asks for TLS (older PyMySQL falls back to clear text silently).

    The socket says it without a round trip: PyMySQL wraps it in an SSLSocket once TLS is negotiated.
    """
    from ...errors import ConnectorError

    if isinstance(getattr(conn, "_sock", None), ssl.SSLSocket):
        return
    conn.close()
    raise ConnectorError(
        f"{settings.connector}: {settings.address} does not offer TLS but ssl_mode is {settings.ssl_mode}",
        "enable TLS on the server, or set ssl_mode: preferred",
    )
