"""A password sent for a one-off call is used and forgotten: it appears in no response, audit line, log line or
file, on success and on failure. Runs against a trusting PostgreSQL (any password connects; see pg.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CANARY, default_settings, make_project, serve
from .pg import PgServer, pg_connection

API = "/api/v1/data-sources"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[_Collect]:
    handler = _Collect()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def _every_file(root: Path) -> str:
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)


def test_canary_password_appears_nowhere(tmp_path: Path, capfd: pytest.CaptureFixture[str], logs: _Collect, service_postgres: PgServer) -> None:
    root = make_project(tmp_path / "project")
    answers: list[str] = []
    with serve(root, default_settings(workers=1)) as service:
        with service.client(service.keys.admin) as client:
            ok = client.post(f"{API}/database", json={"database_type": "postgres", "connection": pg_connection(CANARY, service_postgres)})
            assert ok.status_code == 200, ok.text
            assert "people" in {t["name"] for t in ok.json()["tables"]}
            found = client.post(f"{API}/discover", json={"connector_type": "postgres", "config": pg_connection(CANARY, service_postgres)})
            assert found.status_code == 200, found.text
            rows = client.post(
                f"{API}/read", json={"connector_type": "postgres", "config": pg_connection(CANARY, service_postgres), "stream_name": "people", "limit": 100}
            )
            assert rows.status_code == 200, rows.text
            assert len(rows.json()["records"]) == 100
            assert {r["email"] for r in rows.json()["records"]} == {"****"}  # masked by the rows' own column names
            missing = client.post(
                f"{API}/read", json={"connector_type": "postgres", "config": pg_connection(CANARY, service_postgres), "stream_name": "no_such_table", "limit": 5}
            )  # a live read goes straight to the rows; only when it fails is the catalog asked, for this answer
            assert missing.status_code == 404 and "no stream 'no_such_table'" in missing.json()["error"], missing.text
            assert "people" in missing.json()["hint"]
            dead = {**pg_connection(CANARY, service_postgres), "port": 1}
            failed = client.post(f"{API}/database", json={"database_type": "postgres", "connection": dead})
            assert failed.status_code == 502, failed.text
            wrong_db = client.post(f"{API}/discover", json={"connector_type": "postgres", "config": {**pg_connection(CANARY, service_postgres), "database": "no_such_db"}})
            assert wrong_db.status_code == 502, wrong_db.text
            invalid = client.post(f"{API}/database", json={"database_type": "oracle", "connection": pg_connection(CANARY, service_postgres)})
            assert invalid.status_code == 422
            schema_bad = client.post(f"{API}/discover", json={"connector_type": "postgres", "config": {**pg_connection(CANARY, service_postgres), "port": "x"}})
            assert schema_bad.status_code == 422
            answers += [r.text + str(r.headers) for r in (ok, found, rows, missing, failed, wrong_db, invalid, schema_bad)]
        audit = "\n".join(service.audit_lines())
    out, err = capfd.readouterr()
    for where, text in {"responses": "".join(answers), "audit": audit, "logs": "\n".join(logs.lines), "stdout": out, "stderr": err, "files": _every_file(root)}.items():
        assert CANARY not in text, where
        assert "Canary@Pw" not in text, where
    assert audit.count("\n") >= 6
