"""OpenAPI discovery: a document served on 127.0.0.1, its list endpoints found, and a definition built from them."""

from __future__ import annotations

from typing import Any

import pytest
from loopback_api import Reply, page_route, people, serve

from bmad_gitops.connectors.declarative.backend import DeclarativeBackend
from bmad_gitops.connectors.declarative.config import api_config
from bmad_gitops.connectors.declarative.openapi import (
    OpenApiEndpoint,
    base_url,
    endpoints_config,
    fetch_openapi,
    list_endpoints,
    stream_name,
)
from bmad_gitops.errors import ConnectorError


def json_response(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "People", "version": "1"},
    "servers": [{"url": "https://api.example.com/v1/"}],
    "paths": {
        "/v1/users": {
            "get": {
                "summary": "All users",
                "responses": json_response(
                    {
                        "type": "object",
                        "properties": {
                            "data": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
                            "total": {"type": "integer"},
                        },
                    }
                ),
            }
        },
        "/v1/user-groups": {
            "get": {
                "responses": json_response(
                    {
                        "type": "array",
                        "items": {
                            "allOf": [
                                {"$ref": "#/components/schemas/Named"},
                                {"properties": {"size": {"type": "integer"}}},
                            ]
                        },
                    }
                )
            }
        },
        "/v1/users/{id}": {"get": {"responses": json_response({"$ref": "#/components/schemas/User"})}},
        "/v1/search": {
            "get": {
                "parameters": [{"name": "q", "in": "query", "required": True}],
                "responses": json_response({"type": "array", "items": {"type": "object"}}),
            }
        },
        "/v1/status": {
            "get": {"responses": json_response({"type": "object", "properties": {"ok": {"type": "boolean"}}})}
        },
        "/v1/tags": {"get": {"responses": json_response({"type": "array", "items": {"type": "string"}})}},
        "/v1/events": {"post": {"responses": json_response({"type": "array", "items": {"type": "object"}})}},
    },
    "components": {
        "schemas": {
            "Named": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
            "User": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "active": {"type": "boolean"},
                    "joined": {"type": "string", "format": "date-time", "nullable": True},
                    "manager": {"$ref": "#/components/schemas/User"},
                },
            },
        }
    },
}


def test_list_endpoints_finds_the_lists_of_objects() -> None:
    found = list_endpoints(DOCUMENT)
    assert [(e.name, e.path, e.records_path) for e in found] == [
        ("user_groups", "/v1/user-groups", ()),
        ("users", "/v1/users", ("data",)),
    ]
    groups, users = found
    assert groups.columns == {"id": "integer", "name": "string", "size": "integer"}
    assert users.columns == {
        "active": "boolean",
        "id": "integer",
        "joined": "date-time",
        "manager": "object",
        "name": "string",
    }
    assert users.primary_key == ("id",) and users.summary == "All users"
    assert users.json_schema["properties"]["joined"] == {"type": ["null", "string"], "format": "date-time"}
    assert users.json_schema["properties"]["manager"]["properties"]["id"] == {"type": ["null", "integer"]}
    assert list_endpoints(DOCUMENT) == found  # deterministic


def test_endpoints_config_and_names() -> None:
    chosen = [e for e in list_endpoints(DOCUMENT) if e.name == "users"]
    assert endpoints_config(chosen, with_columns=False) == [
        {"name": "users", "path": "/v1/users", "records_path": ["data"], "primary_key": ["id"]}
    ]
    assert endpoints_config(chosen)[0]["columns"]["joined"] == "date-time"
    assert base_url(DOCUMENT) == "https://api.example.com/v1"
    assert [stream_name(p) for p in ("/v2/Orders/line-items", "/", "/2024/x")] == [
        "orders_line_items",
        "stream",
        "stream_2024_x",
    ]


def test_openapi_served_discovered_and_read() -> None:
    document = {**DOCUMENT, "servers": []}
    with serve({"/openapi.json": lambda request: Reply(document), "/v1/users": page_route(people(3))}) as api:
        fetched = fetch_openapi(api.base_url + "/openapi.json", timeout=5)
        assert fetched == document
        chosen: list[OpenApiEndpoint] = [e for e in list_endpoints(fetched) if e.name == "users"]
        definition = {"base_url": api.base_url, "endpoints": endpoints_config(chosen)}
        backend = DeclarativeBackend("source-declarative-manifest")
        (stream,) = backend.discover(api_config(definition)).streams
        assert [(c.name, c.type) for c in stream.columns][:2] == [("active", "boolean"), ("id", "integer")]
        # PyAirbyte gives declared fields the response lacks as None.
        expected = [{**person, "joined": None, "manager": None} for person in people(3)]
        assert backend.read(api_config(definition), "users", 10) == expected


def test_fetch_failures_are_one_line() -> None:
    with serve(
        {"/nope": lambda request: Reply({"openapi": "2.0"}), "/slow": lambda request: Reply({}, delay=1.0)}
    ) as api:
        with pytest.raises(ConnectorError, match="HTTP 404"):
            fetch_openapi(api.base_url + "/missing", timeout=5)
        with pytest.raises(ConnectorError, match=r"not an OpenAPI 3\.x document"):
            fetch_openapi(api.base_url + "/nope", timeout=5)
        with pytest.raises(ConnectorError, match=r"no answer within 0\.2 s"):
            fetch_openapi(api.base_url + "/slow", timeout=0.2)
