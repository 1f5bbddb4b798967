"""Every endpoint x (no key, unknown key, revoked key, key without the scope, right key): the status, and one
audit line per request naming the key (never the key itself)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import Running

API = "/api/v1/data-sources"
PG = {"host": "127.0.0.1", "port": 5432, "database": "postgres", "username": "postgres", "password": "unused-in-trust"}

Call = Callable[[httpx.Client], httpx.Response]


def _upload(client: httpx.Client) -> httpx.Response:
    return client.post(f"{API}/upload", files={"file": ("people.csv", b"id,name\n1,a\n2,b\n", "text/csv")}, data={"suggest": "false"})


# (name, scope it needs, call, statuses accepted with the right key)
ENDPOINTS: list[tuple[str, str, Call, set[int]]] = [
    ("connectors", "data_read", lambda c: c.get(f"{API}/connectors"), {200}),
    ("discover", "data_read", lambda c: c.post(f"{API}/discover", json={"source": "customers"}), {200}),
    ("read", "data_read", lambda c: c.post(f"{API}/read", json={"source": "customers", "stream_name": "customers", "limit": 2}), {200}),
    ("upload", "data_write", _upload, {200}),
    ("database", "data_write", lambda c: c.post(f"{API}/database", json={"database_type": "postgres", "connection": PG}), {200, 502}),
    ("config list", "data_read", lambda c: c.get(f"{API}/config"), {200}),
    ("config get", "data_read", lambda c: c.get(f"{API}/config/customers"), {200}),
    (
        "config save",
        "data_write",
        lambda c: c.post(f"{API}/config", json={"name": "matrix_src", "configuration": _definition()}),
        {200, 201},
    ),
    ("config delete", "data_write", lambda c: c.delete(f"{API}/config/matrix_src"), {200, 404}),
    ("plan", "data_read", lambda c: c.get(f"{API}/plan", params={"refresh": "false"}), {200}),
    ("lineage", "data_read", lambda c: c.get(f"{API}/lineage/customers"), {404}),
]


def _definition() -> dict[str, Any]:
    return {
        "type": "file",
        "connector": "source-file",
        "format": "csv",
        "config": {"dataset_name": "matrix", "format": "csv", "url": "data/customers.csv", "provider": {"storage": "local"}},
    }


def _wrong_scope(service: Running, scope: str) -> str:
    return service.keys.writer if scope == "data_read" else service.keys.reader


@pytest.mark.parametrize(("name", "scope", "call", "ok"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_every_endpoint_and_key(service: Running, name: str, scope: str, call: Call, ok: set[int]) -> None:
    cases = [
        (None, {401}, None),
        (service.keys.unknown, {401}, None),
        (service.keys.revoked, {401}, None),
        (_wrong_scope(service, scope), {403}, "writer" if scope == "data_read" else "reader"),
        (service.keys.admin, ok, "admin"),
    ]
    for key, expected, key_name in cases:
        before = len(service.audit_lines())
        with service.client(key) as client:
            response = call(client)
        assert response.status_code in expected, (name, key_name, response.text)
        lines = service.audit_lines()[before:]
        assert len(lines) == 1, (name, lines)
        line = json.loads(lines[0])
        assert line["status"] == response.status_code
        assert line["key"] == key_name
        assert line["client"] == "127.0.0.1"
        assert line["outcome"] == ("ok" if response.status_code < 400 else line["outcome"])
        if key is not None:
            assert key not in lines[0]


def test_bearer_header_works(service: Running) -> None:
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {service.keys.reader}"}) as client:
        assert client.get(f"{API}/connectors").status_code == 200


def test_health_needs_no_key(service: Running) -> None:
    with service.client() as client:
        assert client.get("/health").json()["status"] == "ok"


def test_read_masks_unless_allowed_and_asked(service: Running) -> None:
    body = {"source": "customers", "stream_name": "customers", "limit": 3}
    with service.client(service.keys.reader) as client:
        masked = client.post(f"{API}/read", json=body).json()
        assert {r["email"] for r in masked["records"]} == {"****"}
        assert client.post(f"{API}/read", json={**body, "unmasked": True}).status_code == 403
    with service.client(service.keys.unmasked) as client:
        clear = client.post(f"{API}/read", json={**body, "unmasked": True}).json()
        assert all("@" in r["email"] for r in clear["records"])
        assert clear["masked"] == []
    line = json.loads(service.audit_lines()[-1])
    assert (line["source"], line["stream"], line["rows"], line["key"]) == ("customers", "customers", 3, "clear")


def test_repeated_read_is_served_from_cache(service: Running) -> None:
    body = {"source": "customers", "stream_name": "customers", "limit": 5}
    with service.client(service.keys.reader) as client:
        client.post(f"{API}/read", json=body)
        again = client.post(f"{API}/read", json=body).json()
    assert again["cached"] is True
    assert len(again["records"]) == 5


def test_limit_above_maximum_is_refused(service: Running) -> None:
    body = {"source": "customers", "stream_name": "customers", "limit": 10_000}
    with service.client(service.keys.reader) as client:
        response = client.post(f"{API}/read", json=body)
    assert response.status_code == 422
    assert "at most" in response.json()["hint"]


def test_unknown_source_and_stream(service: Running) -> None:
    with service.client(service.keys.reader) as client:
        assert client.post(f"{API}/discover", json={"source": "nope"}).status_code == 422
        response = client.post(f"{API}/read", json={"source": "customers", "stream_name": "nope"})
    assert response.status_code == 404
    assert "customers" in response.json()["hint"]


@pytest.mark.parametrize(
    "config",
    [
        {"url": ".env"},
        {"url": ".bmad-gitops/service/keys.json", "format": "json"},
        {"url": "sources/customers.yaml"},
        {"url": "data/../.git/config"},
        {"url": "/etc/passwd"},
        {"url": "http://127.0.0.1:1/x.csv", "provider": {"storage": "HTTPS"}},
    ],
)
def test_adhoc_files_outside_data_are_refused(service: Running, config: dict[str, Any]) -> None:
    (service.root / ".env").write_text("SECRET_TOKEN=do-not-read\n", encoding="utf-8")
    full = {"dataset_name": "x", "format": "csv", "provider": {"storage": "local"}, **config}
    with service.client(service.keys.admin) as client:
        response = client.post(f"{API}/read", json={"connector_type": "file", "config": full, "stream_name": "x"})
    assert response.status_code == 422, response.text
    assert "do-not-read" not in response.text
