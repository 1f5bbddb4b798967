"""Every failure is one ConnectorError line naming cause and fix, and no message ever shows the password."""

from __future__ import annotations

import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pymysql
import pytest

from bmad_gitops.connectors.sql.backend import SqlBackend
from bmad_gitops.connectors.sql.config import mysql_config, postgres_config
from bmad_gitops.connectors.sql.connection import require_mysql_tls
from bmad_gitops.connectors.sql.settings import connection_settings
from bmad_gitops.errors import ConnectorError

from .conftest import CANARY_PASSWORD, MysqlDatabase, PostgresSchema, Server

PG = SqlBackend("source-postgres")
MY = SqlBackend("source-mysql")


def pg_config(port: int, **extra: Any) -> dict[str, Any]:
    base = {"host": "127.0.0.1", "port": port, "database": "postgres", "username": "postgres",
            "password": CANARY_PASSWORD, "ssl_mode": "disable"}  # fmt: skip
    return postgres_config({**base, **extra})


def my_config(port: int, **extra: Any) -> dict[str, Any]:
    base = {"host": "127.0.0.1", "port": port, "database": "mysql", "username": "root", "password": CANARY_PASSWORD}
    return mysql_config({**base, **extra})


def failure(call: Callable[[], object]) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        call()
    error = caught.value
    for text in (str(error), repr(error), error.message, error.hint):
        assert CANARY_PASSWORD not in text
        assert "Canary" not in text  # not even a piece of it
        assert "\n" not in text
    return error


@pytest.mark.slow
def test_wrong_password(scram_postgres: Server) -> None:
    error = failure(lambda: PG.check(pg_config(scram_postgres.port, password="wrong-" + CANARY_PASSWORD)))
    assert (
        error.message == f"source-postgres: 127.0.0.1:{scram_postgres.port} rejected the password for user 'postgres'"
    )
    assert error.hint == "check the password's environment variable and config.username"


@pytest.mark.slow
def test_right_password_unknown_database(scram_postgres: Server) -> None:
    # Authenticating with the canary itself, so a leak anywhere in the path would show.
    error = failure(lambda: PG.discover(pg_config(scram_postgres.port, database="no_such_db")))
    assert error.message == f"source-postgres: database 'no_such_db' does not exist on 127.0.0.1:{scram_postgres.port}"
    assert error.hint == "fix config.database"
    PG.statistics(pg_config(scram_postgres.port, schemas=["pg_catalog"]))  # the canary is the right password


@pytest.mark.slow
def test_tls_required_but_not_offered(scram_postgres: Server) -> None:
    error = failure(lambda: PG.check(pg_config(scram_postgres.port, ssl_mode="require")))
    assert (
        error.message == f"source-postgres: 127.0.0.1:{scram_postgres.port} does not offer TLS but ssl_mode is require"
    )


def test_mysql_wrong_password(my: MysqlDatabase) -> None:
    error = failure(lambda: MY.check(my_config(my.server.port, username="root")))
    assert error.message == (
        f"source-mysql: 127.0.0.1:{my.server.port} denied access to user 'root' (wrong password or unknown user)"
    )


def test_mysql_unknown_database(my: MysqlDatabase) -> None:
    error = failure(lambda: MY.discover({**my.config, "database": "no_such_db"}))
    assert error.message == f"source-mysql: database 'no_such_db' does not exist on 127.0.0.1:{my.server.port}"


def test_mysql_tls_required_but_not_offered(my: MysqlDatabase) -> None:
    conn = pymysql.connect(host=my.server.host, port=my.server.port, user="root", password=my.server.password)
    with conn.cursor() as cur:
        cur.execute("SHOW VARIABLES LIKE 'have_ssl'")
        have_ssl = cur.fetchone()[1]
    conn.close()
    if have_ssl == "YES":
        pytest.skip("this MariaDB offers TLS, so 'required' cannot fail here")
    error = failure(lambda: MY.check(mysql_config({**my.config, "ssl_mode": "require"})))
    assert error.message == f"source-mysql: 127.0.0.1:{my.server.port} does not offer TLS but ssl_mode is required"


class _FakeMysqlConnection:
    def __init__(self, sock: object) -> None:
        self._sock = sock
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_mysql_tls_check_trusts_only_an_encrypted_socket() -> None:
    """Older PyMySQL falls back to clear text without a word: the socket itself decides, and a plain one is refused
    (this MariaDB offers no TLS, and PyMySQL 1.2 refuses first, so the real server cannot show the fallback)."""
    settings = connection_settings("source-mysql", mysql_config({**my_config(3306), "ssl_mode": "require"}))
    with socket.socket() as plain:
        conn = _FakeMysqlConnection(plain)
        with pytest.raises(ConnectorError) as caught:
            require_mysql_tls(conn, settings)
        assert caught.value.message == "source-mysql: 127.0.0.1:3306 does not offer TLS but ssl_mode is required"
        assert conn.closed
    client = ssl.create_default_context()
    with client.wrap_socket(socket.socket(), server_hostname="db", do_handshake_on_connect=False) as encrypted:
        conn = _FakeMysqlConnection(encrypted)
        require_mysql_tls(conn, settings)
        assert not conn.closed


@pytest.mark.parametrize("backend", [PG, MY], ids=["postgres", "mysql"])
def test_connection_refused(backend: SqlBackend, refused_port: int) -> None:
    config = pg_config(refused_port) if backend is PG else my_config(refused_port)
    error = failure(lambda: backend.check(config))
    assert error.message == f"{backend.connector}: connection refused at 127.0.0.1:{refused_port}"
    assert error.hint == "start the database server, or fix config.host / config.port"


@pytest.mark.parametrize("backend", [PG, MY], ids=["postgres", "mysql"])
def test_silent_listener_times_out_within_the_configured_seconds(backend: SqlBackend, silent_listener: int) -> None:
    config = (pg_config if backend is PG else my_config)(silent_listener, connect_timeout=2)
    started = time.monotonic()
    error = failure(lambda: backend.read(config, "t", 1))
    elapsed = time.monotonic() - started
    assert error.message == f"{backend.connector}: no answer from 127.0.0.1:{silent_listener} within 2 s"
    assert 1.5 <= elapsed < 5


def test_ssh_tunnel_is_refused_before_connecting() -> None:
    config = {**pg_config(1), "tunnel_method": {"tunnel_method": "SSH_KEY_AUTH", "tunnel_host": "bastion"}}
    error = failure(lambda: PG.discover(config))
    assert error.message == "source-postgres: SSH tunnels are not supported yet"


def test_unknown_jdbc_param_is_named() -> None:
    error = failure(lambda: PG.check(pg_config(1, jdbc_url_params="socketTimeout=5")))
    assert (
        error.message == "source-postgres: jdbc_url_params key 'socketTimeout' has no equivalent in the native driver"
    )


@pytest.fixture
def pg_reader(pg: PostgresSchema) -> Iterator[tuple[PostgresSchema, str]]:
    role = f"bmad_nosel_{uuid.uuid4().hex[:8]}"
    pg.run(f'CREATE TABLE "{pg.schema}".secret (id integer)')
    pg.run(f'CREATE ROLE "{role}" LOGIN')
    pg.run(f'GRANT USAGE ON SCHEMA "{pg.schema}" TO "{role}"')
    try:
        yield pg, role
    finally:
        pg.run(f'DROP OWNED BY "{role}"')
        pg.run(f'DROP ROLE "{role}"')


def test_postgres_role_without_select(pg_reader: tuple[PostgresSchema, str]) -> None:
    pg, role = pg_reader
    config = pg.config_for(username=role)
    error = failure(lambda: PG.check(config))
    assert error.message == (
        f"source-postgres: permission denied: user '{role}' cannot read any table in schema {pg.schema}"
        f" (first: {pg.schema}.secret)"
    )
    assert error.hint == f"run GRANT SELECT ON ALL TABLES IN SCHEMA {pg.schema} TO {role}"
    error = failure(lambda: PG.read(config, "secret", 1))
    assert error.message == f"source-postgres: permission denied: user '{role}' cannot read table {pg.schema}.secret"


@pytest.fixture
def my_reader(my: MysqlDatabase) -> Iterator[tuple[MysqlDatabase, str]]:
    user = f"bmad_nosel_{uuid.uuid4().hex[:8]}"
    my.run("CREATE TABLE secret (id int)")
    my.run(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-{user}'")
    my.run(f"GRANT INSERT ON `{my.database}`.secret TO '{user}'@'%'")
    try:
        yield my, user
    finally:
        my.run(f"DROP USER '{user}'@'%'")


def test_mysql_user_without_select(my_reader: tuple[MysqlDatabase, str]) -> None:
    my, user = my_reader
    config = my.config_for(username=user, password=f"pw-{user}")
    error = failure(lambda: MY.check(config))
    assert error.message == f"source-mysql: permission denied: user '{user}' cannot read table {my.database}.secret"
    error = failure(lambda: MY.read(config, "secret", 1))
    assert error.message == f"source-mysql: permission denied: user '{user}' cannot read table {my.database}.secret"
