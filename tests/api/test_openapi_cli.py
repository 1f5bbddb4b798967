"""`discover --openapi URL` and `import api NAME --openapi URL` through the CLI, against a loopback API."""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback_api import Reply, page_route, people, serve
from test_openapi import DOCUMENT

from bmad_gitops.cli import main


def test_discover_and_import_from_an_openapi_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    routes = {"/v1/users": page_route(people(3))}
    with serve(routes) as api:
        document = {**DOCUMENT, "servers": [{"url": api.base_url}]}
        api.routes["/openapi.json"] = lambda request: Reply(document)
        url = api.base_url + "/openapi.json"

        assert main(["discover", "--openapi", url]) == 0
        out = capsys.readouterr().out
        assert f"(base URL: {api.base_url})" in out and "users  GET /v1/users  records: data  primary key: id" in out

        assert main(["import", "api", "people", "--openapi", url, "--endpoints", "users"]) == 0
        assert "wrote sources/people.yaml with 1 stream(s)" in capsys.readouterr().out
        written = (tmp_path / "sources" / "people.yaml").read_text(encoding="utf-8")
        assert f"base_url: {api.base_url}" in written and "path: /v1/users" in written and "openapi_url:" in written

        assert main(["validate"]) == 0
        capsys.readouterr()
        assert main(["plan", "--detailed-exitcode"]) == 2
        plan = capsys.readouterr().out
        assert "+ people (api, source-declarative-manifest" in plan and "+ stream users" in plan, plan

        assert main(["import", "api", "nothing", "--openapi", url, "--endpoints", "nope*"]) == 1
        assert "no GET endpoint returning a list of objects matches nope*" in capsys.readouterr().err
