"""A read-only key's ad-hoc requests reach only the addresses the saved sources use and the operator's allowed
hosts; keys with data_write (or admin) may reach new ones. Real service, real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad_gitops.service.reach import Address, HostNotAllowed, address_of, allowed_by_setting, require_known_address

from .conftest import CANARY, default_settings, make_project, serve
from .pg import DATABASE, PgServer, pg_connection

API = "/api/v1/data-sources"


@pytest.mark.parametrize(
    ("connector", "family", "config", "expected"),
    [
        ("source-postgres", "database", {"host": "DB.Example.", "port": 6543}, Address("db.example", 6543)),
        ("source-postgres", "database", {"host": "db"}, Address("db", 5432)),
        ("source-mysql", "database", {"host": "db", "port": "3307"}, Address("db", 3307)),
        ("source-mysql", "database", {"host": "db"}, Address("db", 3306)),
        ("source-declarative-manifest", "api", {"base_url": "https://API.example.com/v1"}, Address("api.example.com", 443)),
        ("source-declarative-manifest", "api", {"base_url": "http://[::1]:8080/v1"}, Address("::1", 8080)),
        ("source-s3", "s3", {"bucket": "b", "endpoint": "http://127.0.0.1:9000"}, Address("127.0.0.1", 9000, "b")),
        ("source-s3", "s3", {"bucket": "b"}, Address("", None, "b")),
        ("source-file", "file", {"url": "data/x.csv"}, None),
    ],
)
def test_the_address_a_config_connects_to(connector: str, family: str, config: dict[str, object], expected: Address | None) -> None:
    assert address_of(connector, family, config) == expected


def test_allowed_hosts_name_a_host_or_a_host_and_port() -> None:
    db = Address("db.internal", 5432)
    assert allowed_by_setting(db, ["DB.internal"]) and allowed_by_setting(db, ["db.internal:5432"])
    assert not allowed_by_setting(db, ["db.internal:5433", "other", "db"])
    assert allowed_by_setting(Address("::1", 8080), ["[::1]:8080"]) and not allowed_by_setting(Address("::1", 8080), ["[::1]:80"])
    assert not allowed_by_setting(Address("", None, "bucket"), [""])  # the cloud's S3 is never allowed by an empty name


def test_unknown_addresses_and_hand_written_manifests_are_refused() -> None:
    known = {Address("db", 5432)}
    require_known_address("source-postgres", "database", {"host": "db"}, known, ())
    with pytest.raises(HostNotAllowed) as refused:
        require_known_address("source-postgres", "database", {"host": "169.254.169.254", "port": 80}, known, ())
    assert refused.value.message == "169.254.169.254:80 is not an address this project's sources use, and a read-only key may not add one"
    assert "--allow-host" in refused.value.hint
    with pytest.raises(HostNotAllowed):
        require_known_address("source-declarative-manifest", "api", {"manifest": {"streams": []}}, known, ("db",))


@pytest.mark.parametrize(
    "config",
    [
        # a manifest beside base_url: the manifest, not base_url, says where requests go
        {"base_url": "http://db:80", "manifest": {"streams": []}},
        {"base_url": "http://db:80", "manifest_file": "m.yaml"},
        # an endpoint path that is a URL of its own replaces base_url when joined
        {"base_url": "http://db:80", "endpoints": [{"name": "x", "path": "/http://elsewhere:8080/x"}]},
        {"base_url": "http://db:80", "endpoints": [{"name": "x", "path": "https:elsewhere/x"}]},
        {"base_url": "http://db:80", "endpoints": [{"name": "x", "path": "/a\\b"}]},
        # URLs that Python's parser and urllib3's read differently, or that carry user info
        {"base_url": "http://elsewhere\\@db:80/v1", "endpoints": []},
        {"base_url": "http://user@db:80/v1", "endpoints": []},
        {"base_url": "http://db:80 /v1", "endpoints": []},
        {"base_url": "ftp://db:80/v1", "endpoints": []},
    ],
)
def test_api_configs_that_could_leave_the_known_host_are_refused(config: dict[str, object]) -> None:
    known = {Address("db", 80)}
    require_known_address("source-declarative-manifest", "api", {"base_url": "http://db:80/v1", "endpoints": []}, known, ())
    with pytest.raises(HostNotAllowed):
        require_known_address("source-declarative-manifest", "api", config, known, ())


def test_an_s3_endpoint_must_be_a_plain_url_too() -> None:
    known = {Address("db", 80, "b")}
    require_known_address("source-s3", "s3", {"bucket": "b", "endpoint": "http://db:80"}, known, ())
    with pytest.raises(HostNotAllowed):
        require_known_address("source-s3", "s3", {"bucket": "b", "endpoint": "http://elsewhere\\@db:80"}, known, ())


def _saved_postgres(root: Path, server: PgServer) -> None:
    (root / "sources" / "people_db.yaml").write_text(
        "type: database\nconnector: source-postgres\nconfig:\n"
        f"  host: {server.host}\n  port: {server.port}\n  database: {DATABASE}\n  username: postgres\n"
        "  password: ${PEOPLE_DB_PASSWORD}\n  schemas: [public]\n",
        encoding="utf-8",
    )


def test_a_reader_reaches_saved_addresses_and_allowed_hosts_only(tmp_path: Path, service_postgres: PgServer) -> None:
    adhoc = {"connector_type": "postgres", "config": pg_connection(CANARY, service_postgres)}
    root = make_project(tmp_path / "project")
    with serve(root, default_settings(workers=1)) as service:
        with service.client(service.keys.reader) as reader:
            refused = reader.post(f"{API}/discover", json=adhoc)
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"] == (
                f"{service_postgres.host}:{service_postgres.port} is not an address this project's sources use,"
                " and a read-only key may not add one"
            )
            read = reader.post(f"{API}/read", json={**adhoc, "stream_name": "people", "limit": 1})
            assert read.status_code == 403, read.text
        with service.client(service.keys.writer) as writer:
            assert writer.post(f"{API}/discover", json=adhoc).status_code == 403  # data_write alone cannot read
        with service.client(service.keys.admin) as admin:
            found = admin.post(f"{API}/discover", json=adhoc)
            assert found.status_code == 200, found.text
        with service.client(service.keys.reader) as reader:  # the admin's answer is not handed to the reader
            assert reader.post(f"{API}/discover", json=adhoc).status_code == 403
        assert CANARY not in "\n".join(service.audit_lines())

    _saved_postgres(root, service_postgres)
    (root / ".env").write_text("PEOPLE_DB_PASSWORD=x\n", encoding="utf-8")  # the saved source resolves from .env
    keys = root / ".bmad-gitops" / "service"  # each server below gets its own keys
    settings = default_settings(workers=1, keys_file=keys / "second.json")
    with serve(root, settings) as service, service.client(service.keys.reader) as reader:
        found = reader.post(f"{API}/discover", json=adhoc)  # a saved source reaches that address already
        assert found.status_code == 200, found.text
        assert "people" in {s["name"] for s in found.json()["streams"]}
        elsewhere = reader.post(f"{API}/discover", json={**adhoc, "config": {**adhoc["config"], "port": 1}})
        assert elsewhere.status_code == 403, elsewhere.text

    (root / "sources" / "people_db.yaml").unlink()
    settings = default_settings(workers=1, keys_file=keys / "third.json", allowed_hosts=(service_postgres.host,))
    with serve(root, settings) as service, service.client(service.keys.reader) as reader:
        assert reader.post(f"{API}/discover", json=adhoc).status_code == 200  # the operator allowed the host
