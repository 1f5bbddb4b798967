"""The client's edges without a server: retries, Retry-After, token renewal, errors (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from bmad_gitops.deploy.client import AirbyteClient
from bmad_gitops.deploy.commands import FORMATS
from bmad_gitops.deploy.errors import CredentialsError, DeployError
from bmad_gitops.deploy.render import DEPLOY_RENDERERS
from bmad_gitops.resolve import Secret

TOKEN = {"access_token": "t", "token_type": "Bearer", "expires_in": 180}
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, sleeps: list[float], **env: str) -> AirbyteClient:
    env = env or {"AIRBYTE_CLIENT_ID": "id", "AIRBYTE_CLIENT_SECRET": "secret"}
    return AirbyteClient("http://airbyte.test/v1", env, transport=httpx.MockTransport(handler), sleep=sleeps.append)


def test_retry_after_is_honoured_in_seconds_and_as_a_date() -> None:
    answers = iter([
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),  # in the past: at once
        httpx.Response(502),
        httpx.Response(200, json={"data": []}),
    ])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=TOKEN) if request.url.path.endswith("/token") else next(answers)

    sleeps: list[float] = []
    assert client(handler, sleeps).list_sources("w") == []
    assert sleeps == [2.0, 0.0, 2.0]  # the third is our own backoff: 0.5 s doubled per attempt


def test_a_post_is_retried_on_429_only() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json=TOKEN)
        seen.append(request.method)
        return httpx.Response(502, json={"message": "bad gateway"})

    with pytest.raises(DeployError, match="POST /sources failed with 502: bad gateway"):
        client(handler, []).create_source({"name": "x"})
    assert seen == ["POST"]


def test_a_401_renews_the_token_once_then_names_the_variables() -> None:
    tokens: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            body = json.loads(request.content)
            assert body["grant_type"] == body["grant-type"] == "client_credentials"
            tokens.append("t")
            return httpx.Response(200, json=TOKEN)
        return httpx.Response(401)

    with pytest.raises(CredentialsError) as caught:
        client(handler, []).list_sources("w")
    assert len(tokens) == 2
    assert "set AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET" in caught.value.message and not caught.value.hint


def test_a_403_with_a_static_token_names_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer static"
        return httpx.Response(403)

    with pytest.raises(CredentialsError, match=r"does not allow these credentials here .* set AIRBYTE_API_TOKEN"):
        client(handler, [], AIRBYTE_API_TOKEN="static").list_sources("w")


def test_secrets_are_opened_on_the_wire_only_and_hidden_in_errors() -> None:
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(400, json={"message": "bad password hunter2"})

    body = {"configuration": {"password": Secret("hunter2", "PW")}}
    with pytest.raises(DeployError) as caught:
        client(handler, [], AIRBYTE_API_TOKEN="t").patch_source("id", body)
    assert b'"password": "hunter2"' in sent[0]
    assert "hunter2" not in str(caught.value) and "(sensitive)" in str(caught.value)


def test_a_delete_of_something_already_gone_is_done() -> None:
    client(lambda r: httpx.Response(404), [], AIRBYTE_API_TOKEN="t").delete_source("gone")


def test_format_choices_match_the_renderers() -> None:
    assert sorted(FORMATS) == sorted(DEPLOY_RENDERERS)
