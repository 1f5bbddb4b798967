"""The pure side of REST API sources: the manifest compiler and the connector config mapping, no network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bmad_gitops.connectors.declarative.config import (
    MANIFEST_FILE_KEY,
    MANIFEST_KEY,
    api_config,
    api_local_paths,
    api_localize,
)
from bmad_gitops.connectors.declarative.manifest import COLUMN_SCHEMAS, compile_manifest, inline_schema
from bmad_gitops.errors import ConfigError

CDK_SCHEMA = Path(sys.prefix, "lib").glob(
    "python*/site-packages/airbyte_cdk/sources/declarative/declarative_component_schema.yaml"
)

SHORT: dict[str, Any] = {
    "base_url": "https://api.example.com/v1",
    "auth": {"type": "bearer", "token": "${EXAMPLE_API_TOKEN}"},
    "headers": {"X-Api-Version": "2024-01-01"},
    "pagination": {"type": "page", "page_param": "page", "size_param": "per_page", "page_size": 50},
    "endpoints": [
        {
            "name": "users",
            "path": "/users",
            "records_path": ["data"],
            "primary_key": ["id"],
            "params": {"state": "all"},
        },
        {"name": "teams", "path": "/teams", "columns": {"id": "integer", "name": "string", "created": "date-time"}},
    ],
}


class Opaque:
    """Stands in for resolve.Secret: a value api_config must pass along as the same object, never as text."""

    def __str__(self) -> str:
        raise AssertionError("stringified")


def streams(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in manifest["streams"]}


def requester(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(streams(manifest)[name]["retriever"]["requester"])


def paginator(pagination: dict[str, Any]) -> dict[str, Any]:
    manifest = compile_manifest({**SHORT, "pagination": pagination})
    return dict(streams(manifest)["users"]["retriever"]["paginator"])


def test_compile_is_deterministic_and_holds_no_values() -> None:
    first = json.dumps(compile_manifest(SHORT), sort_keys=True)
    assert first == json.dumps(compile_manifest(json.loads(json.dumps(SHORT))), sort_keys=True)
    for value in ("https://api.example.com", "${EXAMPLE_API_TOKEN}", "2024-01-01", '"all"'):
        assert value not in first
    users = requester(compile_manifest(SHORT), "users")
    assert users["url_base"] == '{{ config["base_url"] }}'
    assert users["path"] == "users"  # no leading slash: urljoin would drop the base path /v1
    assert users["authenticator"] == {"type": "BearerAuthenticator", "api_token": '{{ config["token"] }}'}
    assert users["request_headers"] == {"X-Api-Version": '{{ config["headers"]["X-Api-Version"] }}'}
    assert users["request_parameters"] == {"state": '{{ config["params"]["users"]["state"] }}'}
    assert users["read_timeout_in_seconds"] == users["connect_timeout_in_seconds"] == 30.0


def test_api_config_passes_values_through_untouched() -> None:
    token = Opaque()
    config = api_config({**SHORT, "auth": {"type": "bearer", "token": token}})
    assert config["token"] is token
    assert config["base_url"] == "https://api.example.com/v1"
    assert config["headers"] == {"X-Api-Version": "2024-01-01"}
    assert config["params"] == {"users": {"state": "all"}}
    assert config[MANIFEST_KEY] == compile_manifest(SHORT)
    assert sorted(config) == sorted([MANIFEST_KEY, "base_url", "token", "headers", "params"])


@pytest.mark.parametrize(
    ("auth", "values", "authenticator"),
    [
        ({"type": "none"}, {}, {"type": "NoAuth"}),
        (
            {"type": "api_key", "api_key": "${K}"},
            {"api_key": "${K}"},
            {
                "type": "ApiKeyAuthenticator",
                "api_token": '{{ config["api_key"] }}',
                "inject_into": {"type": "RequestOption", "inject_into": "header", "field_name": "X-API-Key"},
            },
        ),
        (
            {"type": "api_key", "api_key": "${K}", "query_param": "key"},
            {"api_key": "${K}"},
            {
                "type": "ApiKeyAuthenticator",
                "api_token": '{{ config["api_key"] }}',
                "inject_into": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "key"},
            },
        ),
        (
            {"type": "basic", "username": "${U}", "password": "${P}"},
            {"username": "${U}", "password": "${P}"},
            {
                "type": "BasicHttpAuthenticator",
                "username": '{{ config["username"] }}',
                "password": '{{ config["password"] }}',
            },
        ),
    ],
)
def test_auth_kinds(auth: dict[str, Any], values: dict[str, Any], authenticator: dict[str, Any]) -> None:
    config = api_config({**SHORT, "auth": auth})
    assert requester(config[MANIFEST_KEY], "users")["authenticator"] == authenticator
    assert {k: config[k] for k in config if k in ("token", "api_key", "username", "password")} == values


def test_every_paginator_has_an_end() -> None:
    page = paginator({"type": "page", "size_param": "per_page", "page_size": 25})
    assert page["pagination_strategy"] == {
        "type": "PageIncrement",
        "start_from_page": 1,
        "inject_on_first_request": True,
        "page_size": 25,  # a shorter page ends the read
    }
    assert page["page_size_option"]["field_name"] == "per_page"
    # No page size known: the CDK stops on an empty page rather than guessing the server's size.
    assert "page_size" not in paginator({"type": "offset"})["pagination_strategy"]
    cursor = paginator({"type": "cursor", "cursor_path": ["meta", "next"], "cursor_param": "after"})[
        "pagination_strategy"
    ]
    assert (
        cursor["stop_condition"] == '{{ not ((response or {}).get("meta") or {}).get("next") or last_page_size == 0 }}'
    )
    link = paginator({"type": "next_url"})
    assert link["page_token_option"] == {"type": "RequestPath"}
    assert "headers" in link["pagination_strategy"]["cursor_value"]
    body = paginator({"type": "next_url", "next_url_path": ["links", "next"]})
    assert "response" in body["pagination_strategy"]["cursor_value"]
    assert paginator({"type": "none"}) == {"type": "NoPagination"}


def test_declared_columns_become_an_inline_schema() -> None:
    teams = streams(compile_manifest(SHORT))["teams"]["schema_loader"]
    assert teams["type"] == "InlineSchemaLoader"
    assert teams["schema"]["properties"] == {
        "created": {"type": ["null", "string"], "format": "date-time"},
        "id": {"type": ["null", "integer"]},
        "name": {"type": ["null", "string"]},
    }
    assert inline_schema({})["properties"] == {}  # inferred at discover
    assert set(COLUMN_SCHEMAS) == {
        "string",
        "integer",
        "number",
        "boolean",
        "date",
        "date-time",
        "time",
        "object",
        "array",
        "any",
    }


def test_retries_honour_retry_after_then_back_off() -> None:
    handler = requester(compile_manifest({**SHORT, "max_retries": 2, "backoff_factor": 0.5, "timeout": 3}), "users")
    strategies = handler["error_handler"]["backoff_strategies"]
    assert handler["error_handler"]["max_retries"] == 2
    assert [s["type"] for s in strategies] == ["WaitTimeFromHeader", "ExponentialBackoffStrategy"]
    assert strategies[0]["header"] == "Retry-After" and strategies[1]["factor"] == 0.5
    assert handler["read_timeout_in_seconds"] == 3


def test_hand_written_manifests() -> None:
    manifest = {"version": "6.0.0", "type": "DeclarativeSource", "streams": []}
    embedded = api_config({"manifest": manifest, "values": {"token": "${T}", "base_url": "https://x"}})
    assert embedded == {MANIFEST_KEY: manifest, "token": "${T}", "base_url": "https://x"}
    assert embedded[MANIFEST_KEY] is not manifest  # a copy: the definition stays as loaded
    from_file = api_config({"manifest_file": "manifests/shop.yaml", "values": {"token": "${T}"}})
    assert from_file == {MANIFEST_FILE_KEY: "manifests/shop.yaml", "token": "${T}"}
    assert api_local_paths(from_file) == ["manifests/shop.yaml"]
    assert api_localize(from_file, lambda raw: "/project/" + raw)[MANIFEST_FILE_KEY] == "/project/manifests/shop.yaml"
    assert api_local_paths(embedded) == []


def test_unusable_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot be compiled"):
        api_config({"endpoints": [{"name": "x", "path": "/x"}]})
    with pytest.raises(ConfigError, match="must be a mapping"):
        api_config({"manifest": "source.yaml"})


def test_compiled_manifest_is_valid_for_the_cdk() -> None:
    schema_file = next(iter(CDK_SCHEMA), None)
    if schema_file is None:
        pytest.skip("airbyte-cdk is not installed")
    import jsonschema
    import yaml

    schema = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
    for pagination in (
        {"type": "page", "size_param": "n", "page_size": 5},
        {"type": "offset", "size_param": "limit"},
        {"type": "cursor", "cursor_path": ["next"]},
        {"type": "next_url"},
    ):
        jsonschema.validate(compile_manifest({**SHORT, "pagination": pagination}), schema)


def test_config_module_imports_no_airbyte() -> None:
    code = "import sys, bmad_gitops.connectors.declarative.config as c; print(sorted(m for m in sys.modules if 'airbyte' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
