"""HotAnswers in front of the routes: it answers only when the answer is kept and the caller may have it, and
hands every other request on untouched (the routes then refuse or answer in full). The downstream app here is a
recorder: the unit under test is the gate, not the routes (the auth matrix runs the real ones)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bmad_gitops.engine import open_project
from bmad_gitops.service.app import Service
from bmad_gitops.service.hot import HotAnswers

from .conftest import default_settings, make_keys, make_project

PATH = "/api/v1/data-sources/config"


def _call(gate: HotAnswers, method: str = "GET", path: str = PATH, key: str | None = None, query: bytes = b"") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    headers = [(b"x-api-key", key.encode())] if key else []
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "query_string": query, "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(gate(scope, receive, send))
    return sent, scope


def test_hot_answers_only_when_kept_and_allowed(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    settings = default_settings(requests_per_minute=2)
    keys = make_keys(settings.keys_path(root))
    service = Service(open_project(root), settings)
    passed: list[str] = []

    async def routes(scope: dict[str, Any], receive: Any, send: Any) -> None:
        passed.append(scope["path"])

    kept: dict[str, bytes | None] = {"body": None}
    gate = HotAnswers(routes, service, {PATH: lambda: kept["body"]})

    assert _call(gate, key=keys.reader)[0] == [] and passed == [PATH]  # nothing kept: the routes answer
    kept["body"] = b'{"sources": []}'
    for refused in (None, "bgk_unknown", keys.revoked, keys.writer):  # no key, unknown, revoked, no data_read
        assert _call(gate, key=refused)[0] == []
    assert _call(gate, key=keys.reader, query=b"x=1")[0] == []
    assert _call(gate, method="POST", key=keys.reader)[0] == []
    assert _call(gate, path="/api/v1/data-sources/plan", key=keys.reader)[0] == []
    assert len(passed) == 8

    sent, scope = _call(gate, key=keys.reader)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"] and sent[1]["body"] == kept["body"]
    assert sent[0]["status"] == 200 and scope["state"]["audit"] == {"key": "reader"} and len(passed) == 8
    assert _call(gate, key=keys.reader)[0] != []  # the second of two tokens a minute
    assert _call(gate, key=keys.reader)[0] == [] and len(passed) == 9  # out of tokens: the routes give the 429
