"""The pure compiler: a `type: api` definition's short form -> an Airbyte declarative (low-code) manifest.

Same input, same dict, byte for byte once dumped with sorted keys. The manifest holds structure only: every
value a user typed that could be a `${VAR}` or a secret (base URL, credentials, header and parameter values) is
read from the connector config with `{{ config[...] }}`, so a manifest can be logged, cached and hashed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MANIFEST_VERSION = "6.0.0"  # the declarative schema version the manifest is written against (CDK 7 reads it)
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_BACKOFF_FACTOR = 5.0  # seconds; the CDK waits factor * 2**attempt when no Retry-After says otherwise
MAX_RETRY_AFTER_SECONDS = 600  # a longer Retry-After fails the read instead of hanging a plan

# Our column type words -> the JSON schema Airbyte connectors declare (every column nullable, as APIs omit fields).
COLUMN_SCHEMAS: Mapping[str, Mapping[str, Any]] = {
    "string": {"type": ["null", "string"]},
    "integer": {"type": ["null", "integer"]},
    "number": {"type": ["null", "number"]},
    "boolean": {"type": ["null", "boolean"]},
    "date": {"type": ["null", "string"], "format": "date"},
    "date-time": {"type": ["null", "string"], "format": "date-time"},
    "time": {"type": ["null", "string"], "format": "time"},
    "object": {"type": ["null", "object"]},
    "array": {"type": ["null", "array"]},
    "any": {},
}


def _ref(*keys: str) -> str:
    """A Jinja expression reading `config[k1][k2]...` (json.dumps quotes keys the way Jinja reads them)."""
    return "{{ config" + "".join(f"[{json.dumps(key)}]" for key in keys) + " }}"


def _lookup(root: str, keys: Sequence[str]) -> str:
    """A Jinja expression for root[k1][k2]... that is empty, not an error, when any level is missing or null."""
    expr = root
    for key in keys:
        expr = f"({expr} or {{}}).get({json.dumps(key)})"
    return expr


def inline_schema(columns: Mapping[str, str]) -> dict[str, Any]:
    """A stream's JSON schema from declared `columns` (`name: type word`); undeclared fields are still kept."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "properties": {name: dict(COLUMN_SCHEMAS[columns[name]]) for name in sorted(columns)},
    }


def _authenticator(auth: Mapping[str, Any]) -> dict[str, Any]:
    kind = auth.get("type", "none")
    if kind == "bearer":
        return {"type": "BearerAuthenticator", "api_token": _ref("token")}
    if kind == "api_key":
        if auth.get("query_param"):
            option = {"type": "RequestOption", "inject_into": "request_parameter", "field_name": auth["query_param"]}
        else:
            option = {"type": "RequestOption", "inject_into": "header", "field_name": auth.get("header", "X-API-Key")}
        return {"type": "ApiKeyAuthenticator", "api_token": _ref("api_key"), "inject_into": option}
    if kind == "basic":
        return {"type": "BasicHttpAuthenticator", "username": _ref("username"), "password": _ref("password")}
    return {"type": "NoAuth"}


def _option(field: str) -> dict[str, Any]:
    return {"type": "RequestOption", "inject_into": "request_parameter", "field_name": field}


def _paginator(pagination: Mapping[str, Any]) -> dict[str, Any]:
    """Every paginator here stops on the last page; an API that always answers a full page is the one exception.

    page/offset stop on a short page when the page size is known (sent with size_param, or the server's fixed
    size), else on an empty page; cursor and next_url stop when the response carries no next token, or on an
    empty page, so a server that always returns a cursor still ends.
    """
    kind = pagination.get("type", "none")
    if kind == "none":
        return {"type": "NoPagination"}
    size_param = pagination.get("size_param")
    page_size = pagination.get("page_size", 100 if size_param else None)
    paginator: dict[str, Any] = {"type": "DefaultPaginator"}
    strategy: dict[str, Any]
    if kind == "page":
        strategy = {
            "type": "PageIncrement",
            "start_from_page": pagination.get("start_page", 1),
            "inject_on_first_request": True,
        }
        paginator["page_token_option"] = _option(pagination.get("page_param", "page"))
    elif kind == "offset":
        strategy = {"type": "OffsetIncrement", "inject_on_first_request": True}
        paginator["page_token_option"] = _option(pagination.get("page_param", "offset"))
    elif kind == "cursor":
        token = _lookup("response", pagination["cursor_path"])
        strategy = {
            "type": "CursorPagination",
            "cursor_value": "{{ " + token + " }}",
            "stop_condition": "{{ not " + token + " or last_page_size == 0 }}",
        }
        paginator["page_token_option"] = _option(pagination.get("cursor_param", "cursor"))
    elif kind == "next_url":
        path = pagination.get("next_url_path")
        # Without a body field the next page comes from the Link header (RFC 8288), as GitHub-style APIs send it.
        token = _lookup("response", path) if path else _lookup("headers", ["link", "next", "url"])
        strategy = {
            "type": "CursorPagination",
            "cursor_value": "{{ " + token + " }}",
            "stop_condition": "{{ not " + token + " or last_page_size == 0 }}",
        }
        paginator["page_token_option"] = {"type": "RequestPath"}  # the token is a whole URL
    else:
        raise ValueError(f"unknown pagination type {kind!r}")
    if page_size is not None:
        strategy["page_size"] = page_size
    if size_param and page_size is not None:
        paginator["page_size_option"] = _option(size_param)
    paginator["pagination_strategy"] = strategy
    return paginator


def _error_handler(config: Mapping[str, Any]) -> dict[str, Any]:
    # 429 and 5xx retry (the CDK's default mapping); the wait is Retry-After when the server sends seconds,
    # else exponential. The first strategy that yields a wait wins.
    return {
        "type": "DefaultErrorHandler",
        "max_retries": config.get("max_retries", DEFAULT_MAX_RETRIES),
        "backoff_strategies": [
            {
                "type": "WaitTimeFromHeader",
                "header": "Retry-After",
                "regex": "([-+]?\\d+(?:\\.\\d+)?)",
                "max_waiting_time_in_seconds": MAX_RETRY_AFTER_SECONDS,
            },
            {"type": "ExponentialBackoffStrategy", "factor": config.get("backoff_factor", DEFAULT_BACKOFF_FACTOR)},
        ],
    }


def _stream(config: Mapping[str, Any], endpoint: Mapping[str, Any]) -> dict[str, Any]:
    name = endpoint["name"]
    timeout = config.get("timeout", DEFAULT_TIMEOUT_SECONDS)
    requester: dict[str, Any] = {
        "type": "HttpRequester",
        "url_base": _ref("base_url"),
        # No leading slash: the CDK joins with urljoin, where "/users" would drop a base path such as /v1.
        "path": endpoint["path"].lstrip("/"),
        "http_method": "GET",
        "authenticator": _authenticator(config.get("auth") or {}),
        "error_handler": _error_handler(config),
        "connect_timeout_in_seconds": timeout,
        "read_timeout_in_seconds": timeout,
    }
    headers = config.get("headers") or {}
    if headers:
        requester["request_headers"] = {key: _ref("headers", key) for key in sorted(headers)}
    params = endpoint.get("params") or {}
    if params:
        requester["request_parameters"] = {key: _ref("params", name, key) for key in sorted(params)}
    stream: dict[str, Any] = {
        "type": "DeclarativeStream",
        "name": name,
        "primary_key": list(endpoint.get("primary_key") or []),
        # Declared columns are the schema; without them the backend infers one from a sample read at discover.
        "schema_loader": {"type": "InlineSchemaLoader", "schema": inline_schema(endpoint.get("columns") or {})},
        "retriever": {
            "type": "SimpleRetriever",
            "requester": requester,
            "record_selector": {
                "type": "RecordSelector",
                "extractor": {"type": "DpathExtractor", "field_path": list(endpoint.get("records_path") or [])},
            },
            "paginator": _paginator(config.get("pagination") or {}),
        },
    }
    return stream


def _spec(config: Mapping[str, Any]) -> dict[str, Any]:
    """The connection spec: the config keys the manifest reads, with credentials marked secret."""
    properties: dict[str, Any] = {"base_url": {"type": "string"}}
    for key in connector_value_keys(config):
        if key in ("token", "api_key", "password"):
            properties[key] = {"type": "string", "airbyte_secret": True}
        elif key in ("headers", "params"):
            properties[key] = {"type": "object"}
        else:
            properties[key] = {"type": "string"}
    return {
        "type": "Spec",
        "connection_specification": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["base_url"],
            "additionalProperties": True,
            "properties": properties,
        },
    }


def connector_value_keys(config: Mapping[str, Any]) -> list[str]:
    """The connector config keys the compiled manifest reads, besides the manifest itself (sorted)."""
    keys = {"base_url"}
    kind = (config.get("auth") or {}).get("type", "none")
    keys |= {"bearer": {"token"}, "api_key": {"api_key"}, "basic": {"username", "password"}}.get(kind, set())
    if config.get("headers"):
        keys.add("headers")
    if any(endpoint.get("params") for endpoint in config.get("endpoints") or []):
        keys.add("params")
    return sorted(keys)


def compile_manifest(config: Mapping[str, Any]) -> dict[str, Any]:
    """The declarative manifest for a short-form `type: api` config (base_url, auth, pagination, endpoints)."""
    endpoints = list(config.get("endpoints") or [])
    return {
        "version": MANIFEST_VERSION,
        "type": "DeclarativeSource",
        # check reads the first page of the first endpoint: that proves the URL, the credentials and the shape.
        "check": {"type": "CheckStream", "stream_names": [endpoints[0]["name"]] if endpoints else []},
        "spec": _spec(config),
        "streams": [_stream(config, endpoint) for endpoint in endpoints],
    }
