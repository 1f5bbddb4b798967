"""The declarative backend against a real HTTP API on 127.0.0.1: pagination, auth, retries, timeouts, schemas.

Every read asserts the exact records and the exact requests, so a paginator that stops early, loops or skips a
page fails here (PYAIRBYTE.md: reads that silently return nothing are the trap to test for).
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
from loopback_api import (
    Reply,
    Request,
    cursor_route,
    flaky_route,
    link_route,
    next_body_route,
    offset_route,
    page_route,
    people,
    serve,
)

from bmad_gitops.connectors.declarative.backend import DeclarativeBackend
from bmad_gitops.connectors.declarative.config import MANIFEST_FILE_KEY, api_config
from bmad_gitops.connectors.declarative.manifest import compile_manifest
from bmad_gitops.errors import ConnectorError

CANARY = "canary-d41d8cd98f00"  # a token that must never appear in an error or in output


def definition(base_url: str, path: str = "/users", **config: Any) -> dict[str, Any]:
    endpoint = {"name": "users", "path": path, "records_path": ["data"], "primary_key": ["id"]}
    endpoint.update(config.pop("endpoint", {}))
    # Fast retries: the defaults (5 retries, 5 s factor) are for real APIs.
    return {"base_url": base_url, "max_retries": 2, "backoff_factor": 0.05, "endpoints": [endpoint], **config}


def read(config: dict[str, Any], limit: int = 1000) -> list[dict[str, Any]]:
    return DeclarativeBackend("source-declarative-manifest").read(api_config(config), "users", limit)


def test_page_number_pagination_ends_on_the_short_page() -> None:
    records = people(25)
    with serve({"/v1/users": page_route(records)}) as api:
        pagination = {"type": "page", "size_param": "per_page", "page_size": 10}
        assert read(definition(api.base_url + "/v1", pagination=pagination)) == records
        assert [r.query for r in api.hits("/v1/users")] == [{"page": str(n), "per_page": "10"} for n in (1, 2, 3)]


def test_page_number_pagination_without_a_size_ends_on_the_empty_page() -> None:
    records = people(20)
    with serve({"/users": page_route(records, start=0)}) as api:
        pagination = {"type": "page", "start_page": 0}
        assert read(definition(api.base_url, pagination=pagination)) == records
        assert [r.query["page"] for r in api.hits("/users")] == ["0", "1", "2"]


def test_offset_pagination_of_a_bare_list() -> None:
    records = people(12)
    with serve({"/users": offset_route(records)}) as api:
        pagination = {"type": "offset", "size_param": "limit", "page_size": 5}
        config = definition(api.base_url, pagination=pagination, endpoint={"records_path": []})
        assert read(config) == records
        assert [r.query for r in api.hits("/users")] == [{"offset": str(n), "limit": "5"} for n in (0, 5, 10)]


def test_cursor_pagination_ends_when_the_cursor_is_null() -> None:
    records = people(7)
    with serve({"/users": cursor_route(records, size=3)}) as api:
        pagination = {"type": "cursor", "cursor_path": ["meta", "next_cursor"], "cursor_param": "cursor"}
        assert read(definition(api.base_url, pagination=pagination, endpoint={"records_path": ["items"]})) == records
        assert [r.query.get("cursor") for r in api.hits("/users")] == [None, "c3", "c6"]


def test_next_url_from_the_link_header() -> None:
    records = people(9)
    with serve({}) as api:
        api.routes["/v1/users"] = link_route(api.base_url, "/v1/users", records, size=4)
        config = definition(api.base_url + "/v1", pagination={"type": "next_url"}, endpoint={"records_path": []})
        assert read(config) == records
        assert [r.query.get("page") for r in api.hits("/v1/users")] == [None, "2", "3"]


def test_next_url_from_a_body_field() -> None:
    records = people(5)
    with serve({"/users": next_body_route("/users", records, size=2)}) as api:
        pagination = {"type": "next_url", "next_url_path": ["links", "next"]}
        assert read(definition(api.base_url, pagination=pagination, endpoint={"records_path": ["results"]})) == records
        assert [r.query.get("p") for r in api.hits("/users")] == [None, "2", "3"]


def test_read_stops_at_the_limit() -> None:
    with serve({"/users": page_route(people(1000))}) as api:
        rows = read(
            definition(api.base_url, pagination={"type": "page", "size_param": "per_page", "page_size": 10}), 15
        )
        assert rows == people(15)
        # pages capped at what 15 records need plus one; the CDK asks for that extra page ahead, so whether it is
        # requested before the read stops is a race: 2 or 3 pages of 100, never more
        assert 2 <= len(api.hits("/users")) <= 3


def bearer_only(request: Request) -> Reply:
    if request.headers.get("authorization") != "Bearer right-token":
        # A careless API echoes what it got; that text must not reach the user.
        return Reply({"error": f"bad token {request.headers.get('authorization')}"}, 401)
    return Reply({"data": people(2)})


def test_bearer_auth_wrong_token_is_one_clean_line(capfd: pytest.CaptureFixture[str]) -> None:
    backend = DeclarativeBackend("source-declarative-manifest")
    with serve({"/users": bearer_only}) as api:
        wrong = api_config(definition(api.base_url, auth={"type": "bearer", "token": CANARY}))
        for call in (
            lambda: backend.check(wrong),
            lambda: backend.discover(wrong),
            lambda: backend.read(wrong, "users", 5),
        ):
            with pytest.raises(ConnectorError) as caught:
                call()
            text = str(caught.value)
            assert "HTTP 401" in text and "\n" not in text
            assert CANARY not in text and "bad token" not in text
        right = api_config(definition(api.base_url, auth={"type": "bearer", "token": "right-token"}))
        backend.check(right)
        assert backend.read(right, "users", 5) == people(2)
    out, err = capfd.readouterr()
    assert CANARY not in out + err


def test_api_key_in_a_header_and_in_a_query_parameter() -> None:
    def keyed(request: Request) -> Reply:
        ok = request.headers.get("x-key") == "k1" or request.query.get("key") == "k1"
        return Reply({"data": people(1)} if ok else {}, 200 if ok else 403)

    with serve({"/users": keyed}) as api:
        header = definition(api.base_url, auth={"type": "api_key", "api_key": "k1", "header": "X-Key"})
        query = definition(api.base_url, auth={"type": "api_key", "api_key": "k1", "query_param": "key"})
        assert read(header) == read(query) == people(1)
        assert [r.query.get("key") for r in api.hits("/users")] == [None, "k1"]
        with pytest.raises(ConnectorError, match="HTTP 403"):
            read(definition(api.base_url, auth={"type": "api_key", "api_key": CANARY, "query_param": "key"}))


def test_basic_auth_and_headers_and_params() -> None:
    expected = "Basic " + base64.b64encode(b"ann:pw").decode()

    def guarded(request: Request) -> Reply:
        ok = request.headers.get("authorization") == expected and request.headers.get("x-version") == "2"
        return Reply({"data": [request.query]} if ok else {}, 200 if ok else 401)

    with serve({"/users": guarded}) as api:
        config = definition(
            api.base_url,
            auth={"type": "basic", "username": "ann", "password": "pw"},
            headers={"X-Version": "2"},
            endpoint={"params": {"state": "open", "sort": "id"}},
        )
        assert read(config) == [{"sort": "id", "state": "open"}]


def test_429_with_retry_after_then_success() -> None:
    route = flaky_route([Reply({}, 429, {"Retry-After": "1"})], Reply({"data": people(3)}))
    with serve({"/users": route}) as api:
        started = time.monotonic()
        assert read(definition(api.base_url)) == people(3)
        assert time.monotonic() - started >= 1.0  # it waited as told, not the 0.05 s backoff
        assert len(api.hits("/users")) == 2


def test_500_then_success_and_500_for_ever() -> None:
    route = flaky_route([Reply({"trace": CANARY}, 500), Reply({}, 503)], Reply({"data": people(2)}))
    with serve({"/users": route, "/down": lambda request: Reply({"trace": CANARY}, 500)}) as api:
        assert read(definition(api.base_url)) == people(2)
        assert len(api.hits("/users")) == 3
        with pytest.raises(ConnectorError) as caught:
            read(definition(api.base_url, "/down", max_retries=1))
        assert "HTTP 500" in str(caught.value) and CANARY not in str(caught.value)
        assert len(api.hits("/down")) == 2


def test_a_slow_response_times_out_clearly() -> None:
    with serve({"/users": lambda request: Reply({"data": []}, delay=2.0)}) as api:
        started = time.monotonic()
        with pytest.raises(ConnectorError) as caught:
            read(definition(api.base_url, timeout=0.5, max_retries=0))
        assert "did not answer within 0.5 s (timeout)" in str(caught.value)
        assert caught.value.hint.startswith("raise config.timeout")
        assert time.monotonic() - started < 2.0


def test_nothing_listening_is_a_connection_error() -> None:
    with serve({}) as api:
        base_url = api.base_url
    with pytest.raises(ConnectorError, match="cannot connect to the API"):
        DeclarativeBackend("source-declarative-manifest").check(api_config(definition(base_url, max_retries=0)))


def test_declared_columns_are_the_catalog() -> None:
    with serve({"/users": page_route(people(3))}) as api:
        columns = {"id": "integer", "name": "string", "joined": "date-time"}
        catalog = DeclarativeBackend("x").discover(api_config(definition(api.base_url, endpoint={"columns": columns})))
        (stream,) = catalog.streams
        assert stream.primary_key == ("id",)
        assert [(c.name, c.type) for c in stream.columns] == [
            ("id", "integer"),
            ("joined", "date-time"),
            ("name", "string"),
        ]
        assert api.hits("/users") == []  # declared: discover needs no request


def test_inferred_schema_follows_upstream_drift() -> None:
    shape: dict[str, Any] = {"records": [{"id": 1, "name": "a", "score": 1.5}, {"id": 2, "name": "b", "score": 2}]}
    with serve({"/users": lambda request: Reply({"data": shape["records"]})}) as api:
        backend = DeclarativeBackend("source-declarative-manifest")
        config = api_config(definition(api.base_url))

        def columns() -> list[tuple[str, str]]:
            (stream,) = backend.discover(config).streams
            return [(c.name, c.type) for c in stream.columns]

        assert columns() == [("id", "integer"), ("name", "string"), ("score", "number")]
        shape["records"] = [{"id": "u-1", "score": 3, "email": "x@example.com"}]  # id changes type, name goes
        assert columns() == [("email", "string"), ("id", "string"), ("score", "integer")]


def test_manifest_file(tmp_path: Path) -> None:
    with serve({"/v1/users": page_route(people(4))}) as api:
        manifest = compile_manifest(definition("unused", pagination={"type": "page", "size_param": "per_page"}))
        import yaml

        file = tmp_path / "users.manifest.yaml"
        file.write_text(yaml.safe_dump(manifest), encoding="utf-8")
        config = {MANIFEST_FILE_KEY: str(file), "base_url": api.base_url + "/v1"}
        assert DeclarativeBackend("x").read(config, "users", 10) == people(4)
        with pytest.raises(ConnectorError, match="not absolute"):
            DeclarativeBackend("x").read({**config, MANIFEST_FILE_KEY: "users.manifest.yaml"}, "users", 10)


def test_unknown_stream_and_version() -> None:
    backend = DeclarativeBackend("source-declarative-manifest")
    assert backend.version().startswith("cdk-")
    with serve({"/users": page_route(people(1))}) as api, pytest.raises(ConnectorError, match="no stream 'orders'"):
        backend.read(api_config(definition(api.base_url)), "orders", 5)


def _explained(config: dict[str, Any], op: str) -> ConnectorError:
    backend = DeclarativeBackend("source-declarative-manifest")
    with pytest.raises(ConnectorError) as caught:
        if op == "read":
            backend.read(api_config(config), "users", 10)
        else:
            backend.discover(api_config(config))
    return caught.value


@pytest.mark.parametrize("op", ["read", "discover"])
def test_a_records_path_that_misses_the_records_is_an_error_not_an_empty_read(op: str) -> None:
    routes = {"/users": lambda r: Reply({"items": people(3), "total": 3}), "/list": lambda r: Reply(people(2))}
    with serve(routes) as api:
        elsewhere = _explained(definition(api.base_url), op)
        assert elsewhere.message == (
            "source-declarative-manifest: stream 'users' read no records: the response has no 'data' (its records_path)"
            " but holds a list of records under another field"
        )
        assert len(api.hits("/users")) == 2  # the read, then one look at the whole first page
        bare = _explained(definition(api.base_url, "/list"), op)
        assert "the response is a list, and records_path 'data' looks for a field in an object" in bare.message
        assert "records_path: []" in bare.hint
        for error in (elsewhere, bare):
            assert "person" not in error.message + error.hint  # nothing of the response is shown


@pytest.mark.parametrize(
    "reply",
    [
        Reply({"data": []}),  # an empty list where the records go
        Reply({}),  # APIs that leave an empty list out
        Reply({"kind": "list", "next": None}),
        Reply(raw=b"", status=200),
        Reply(raw=b"<html><body>Please sign in</body></html>", content_type="text/html"),  # not JSON: not judged
    ],
)
def test_responses_that_may_just_be_empty_read_nothing_without_an_error(reply: Reply) -> None:
    with serve({"/users": lambda r: reply}) as api:
        assert read(definition(api.base_url)) == []
        catalog = DeclarativeBackend("source-declarative-manifest").discover(api_config(definition(api.base_url)))
    assert [s.name for s in catalog.streams] == ["users"]


def test_a_record_filter_that_drops_every_record_is_not_taken_for_a_wrong_path() -> None:
    with serve({"/users": lambda r: Reply({"data": people(3)})}) as api:
        config = api_config(definition(api.base_url))
        stream = config["__injected_declarative_manifest"]["streams"][0]
        stream["retriever"]["record_selector"]["record_filter"] = {
            "type": "RecordFilter", "condition": "{{ record['id'] > 100 }}"
        }  # fmt: skip
        assert DeclarativeBackend("source-declarative-manifest").read(config, "users", 10) == []
