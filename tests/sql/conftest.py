"""Real PostgreSQL and MariaDB servers for the SQL backend tests, without Docker.

Uses the servers on 127.0.0.1:5432 (trust, user postgres) and 127.0.0.1:3306 (root, empty password) when they
answer; otherwise starts throwaway servers from the installed binaries in a temporary folder and stops them by
their own pid. Skips loudly, with the reason, only when there is neither a server nor the binaries.
Each test gets its own PostgreSQL schema (in one session database) or MariaDB database, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import types
import typing
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from bmad_gitops.catalog import Catalog, catalog_from_json, catalog_to_json
from bmad_gitops.connectors.sql.config import mysql_config, postgres_config

# A password no message may ever show: '@' and ':' break formatted URLs, the rest breaks naive quoting.
CANARY_PASSWORD = "Canary@Pw:7f3/q'x\"%"

SqlRunner = Callable[[str], None]


def validated(catalog: Catalog) -> Catalog:
    """Discover builds its catalog from plain dataclasses (nothing converts a value): every field must already
    have exactly its declared type, and the JSON of the catalog, validated back, must give the same catalog."""
    _exact(catalog, Catalog)
    assert catalog_from_json(catalog_to_json(catalog)) == catalog
    return catalog


def _exact(value: Any, annotation: Any) -> None:
    """`value` is exactly of the type `annotation` names, down to each tuple item and dataclass field."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if dataclasses.is_dataclass(annotation):
        assert type(value) is annotation, (value, annotation)
        for name, hint in typing.get_type_hints(annotation).items():
            _exact(getattr(value, name), hint)
    elif origin is tuple:
        assert type(value) is tuple, value
        for item in value:
            _exact(item, args[0])
    elif origin is dict:
        assert type(value) is dict and all(type(k) is str for k in value), value
    elif origin in (typing.Union, types.UnionType):
        assert any(_matches(value, option) for option in args), (value, annotation)
    else:
        assert type(value) is annotation, (value, annotation)


def _matches(value: Any, annotation: Any) -> bool:
    try:
        _exact(value, annotation)
    except AssertionError:
        return False
    return True


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts a throwaway database server (about 2 s, once per session)")


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_postgres(host: str, port: int) -> bool:
    try:
        psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def _answers_mysql(host: str, port: int) -> bool:
    try:
        pymysql.connect(host=host, port=port, user="root", password="", connect_timeout=2, read_timeout=2).close()
    except (pymysql.Error, OSError):
        return False
    return True


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextlib.contextmanager
def throwaway_postgres(password: str | None) -> Iterator[Server]:
    """initdb + pg_ctl start in a temporary folder; scram-sha-256 when a password is given, trust otherwise."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL: nothing answers on 127.0.0.1:5432 and no initdb under /usr/lib/postgresql/*/bin")
    root = Path(tempfile.mkdtemp(prefix="bmad-pg-"))
    port = free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    auth = ["-A", "trust"]
    if password is not None:
        pwfile = root / "pw"
        pwfile.write_text(password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
        auth = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
    data = root / "data"
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", *auth, "-E", "UTF8", "--locale=C.UTF-8"]
    subprocess.run(_as_postgres([*initdb, "--no-sync"]), check=True, capture_output=True)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = str(bin_dir / "pg_ctl")
    start = [pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w", "-o", options, "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        yield Server("127.0.0.1", port, "postgres", password or "")
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def throwaway_mariadb() -> Iterator[Server]:
    install, daemon, admin = (shutil.which(n) for n in ("mariadb-install-db", "mariadbd", "mariadb-admin"))
    daemon = daemon or (shutil.which("mariadbd", path="/usr/sbin") if Path("/usr/sbin").exists() else None)
    if not (install and daemon and admin):
        pytest.skip("no MariaDB: nothing answers on 127.0.0.1:3306 and no mariadb-install-db / mariadbd installed")
    root = Path(tempfile.mkdtemp(prefix="bmad-mariadb-"))
    port = free_port()
    data, sock, pid_file = root / "data", root / "mysqld.sock", root / "mysqld.pid"
    subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", "--user=root", "--auth-root-authentication-method=normal",
         "--skip-test-db", "--skip-name-resolve"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [daemon, "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
         "--bind-address=127.0.0.1", f"--pid-file={pid_file}", f"--log-error={root / 'error.log'}", "--user=root",
         "--skip-name-resolve", "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _answers_mysql("127.0.0.1", port):
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"throwaway MariaDB did not start; see {root / 'error.log'}")
            time.sleep(0.1)
        yield Server("127.0.0.1", port, "root", "")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    if _answers_postgres("127.0.0.1", 5432):
        yield Server("127.0.0.1", 5432, "postgres", "")
        return
    with throwaway_postgres(None) as server:
        yield server


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[Server]:
    if _answers_mysql("127.0.0.1", 3306):
        yield Server("127.0.0.1", 3306, "root", "")
        return
    with throwaway_mariadb() as server:
        yield server


@pytest.fixture(scope="session")
def scram_postgres() -> Iterator[Server]:
    """A PostgreSQL that checks passwords (the usual local one trusts every login); its password is the canary."""
    with throwaway_postgres(CANARY_PASSWORD) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_database(postgres_server: Server) -> Iterator[str]:
    name = f"bmad_sql_tests_{uuid.uuid4().hex[:8]}"
    with _pg_admin(postgres_server, "postgres") as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with _pg_admin(postgres_server, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin(server: Server, dbname: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=server.host, port=server.port, user=server.user, password=server.password or None, dbname=dbname,
        autocommit=True,
    )  # fmt: skip


@dataclass(frozen=True)
class PostgresSchema:
    """One test's schema: `config` is what the backend receives; `run` executes admin SQL in the database."""

    server: Server
    database: str
    schema: str
    config: dict[str, Any]
    run: SqlRunner

    def config_for(self, **changes: Any) -> dict[str, Any]:
        return {**self.config, **changes}


@pytest.fixture
def pg(postgres_server: Server, postgres_database: str) -> Iterator[PostgresSchema]:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    conn = _pg_admin(postgres_server, postgres_database)
    conn.execute(f'CREATE SCHEMA "{schema}"')

    def run(sql: str) -> None:
        conn.execute(sql)

    config = postgres_config(
        {"host": postgres_server.host, "port": postgres_server.port, "database": postgres_database,
         "username": postgres_server.user, "password": postgres_server.password, "schemas": [schema],
         "ssl_mode": "disable"}
    )  # fmt: skip
    try:
        yield PostgresSchema(postgres_server, postgres_database, schema, config, run)
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


@dataclass(frozen=True)
class MysqlDatabase:
    server: Server
    database: str
    config: dict[str, Any]
    run: SqlRunner

    def config_for(self, **changes: Any) -> dict[str, Any]:
        return {**self.config, **changes}


@pytest.fixture
def my(mysql_server: Server) -> Iterator[MysqlDatabase]:
    database = f"bmad_sql_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(
        host=mysql_server.host, port=mysql_server.port, user=mysql_server.user, password=mysql_server.password,
        autocommit=True, charset="utf8mb4",
    )  # fmt: skip
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}`")
        cur.execute(f"USE `{database}`")

    def run(sql: str) -> None:
        with conn.cursor() as cur:
            cur.execute(sql)

    config = mysql_config(
        {"host": mysql_server.host, "port": mysql_server.port, "database": database,
         "username": mysql_server.user, "password": mysql_server.password}
    )  # fmt: skip
    try:
        yield MysqlDatabase(mysql_server, database, config, run)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        conn.close()


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port on 127.0.0.1 whose listener accepts connections (the kernel completes the handshake) and never
    says a word: the only way to test connect timeouts, since 127.0.0.0/8 refuses at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


@pytest.fixture
def refused_port() -> int:
    return free_port()
