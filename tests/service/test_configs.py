"""GitOps writes: a saved config passes exactly validate's checks, keeps comments on update, is refused with
diagnostics when wrong (a plaintext secret names the field and the ${VAR} to use), and with --git-branch lands as
one commit on bmad-gitops/<name> while the working tree stays as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bmad_gitops.cli import main

from .conftest import Running, default_settings, git, make_project, serve

API = "/api/v1/data-sources"


def definition(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "file",
        "connector": "source-file",
        "format": "csv",
        "description": "Customers again, saved over HTTP.",
        # The config of sources/customers.yaml: its discovery is already cached, so plan starts no connector.
        "config": {
            "dataset_name": "customers",
            "format": "csv",
            "url": "data/customers.csv",
            "provider": {"storage": "local"},
            "format_options": {"delimiter": ",", "quote_char": '"', "encoding": "utf-8"},
        },
    }
    base.update(changes)
    return base


def test_saved_config_is_seen_by_validate_and_plan(service: Running, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with service.client(service.keys.writer) as client:
        response = client.post(f"{API}/config", json={"name": "crm_copy", "configuration": definition()})
    assert response.status_code == 201, response.text
    assert response.json()["path"] == "sources/crm_copy.yaml"
    monkeypatch.chdir(service.root)
    capsys.readouterr()
    assert main(["validate"]) == 0
    assert "2 files valid" in capsys.readouterr().out
    assert main(["plan", "--format", "json", "--no-refresh"]) in (0, 2)
    planned = json.loads(capsys.readouterr().out)
    assert "crm_copy" in {s["name"] for s in planned["sources"]}
    with service.client(service.keys.reader) as client:
        listed = client.get(f"{API}/config").json()["sources"]
        assert "crm_copy" in {s["name"] for s in listed}
        got = client.get(f"{API}/config/crm_copy").json()
    assert got["configuration"]["config"]["url"] == "data/customers.csv"


def test_plaintext_secret_is_refused_naming_the_field_and_the_variable(service: Running) -> None:
    bad = {
        "type": "database",
        "connector": "source-postgres",
        "config": {"host": "127.0.0.1", "port": 5432, "database": "shop", "username": "app", "password": "hunter2-plain"},
    }
    with service.client(service.keys.writer) as client:
        response = client.post(f"{API}/config", json={"name": "leaky_db", "configuration": bad})
    assert response.status_code == 422
    body = response.json()
    assert "hunter2-plain" not in response.text
    codes = {d["code"] for d in body["diagnostics"]}
    assert "BG200" in codes
    secret = next(d for d in body["diagnostics"] if d["code"] == "BG200")
    assert "password" in secret["message"] and "${PASSWORD}" in secret["hint"]
    assert {"code", "path", "line", "column", "message", "hint"} <= set(secret)
    assert not (service.root / "sources" / "leaky_db.yaml").exists()
    assert "hunter2-plain" not in "".join(p.read_text(errors="replace") for p in service.root.rglob("*") if p.is_file() and ".git" not in p.parts)


def test_invalid_definition_comes_back_as_diagnostics(service: Running) -> None:
    with service.client(service.keys.writer) as client:
        response = client.post(f"{API}/config", json={"name": "broken", "configuration": definition(on_drift="sometimes")})
        bad_name = client.post(f"{API}/config", json={"name": "Bad-Name", "configuration": definition()})
        missing = client.post(f"{API}/config", json={"name": "nofile", "configuration": definition(config={**definition()["config"], "url": "data/none.csv"})})
    assert response.status_code == 422
    assert response.json()["diagnostics"][0]["code"].startswith("BG1")
    assert bad_name.status_code == 422
    assert missing.status_code == 422 and missing.json()["diagnostics"][0]["code"] == "BG400"


def test_update_keeps_comments_and_delete_removes(service: Running) -> None:
    path = service.root / "sources" / "commented.yaml"
    with service.client(service.keys.writer) as client:
        assert client.post(f"{API}/config", json={"name": "commented", "configuration": definition()}).status_code == 201
        path.write_text(path.read_text(encoding="utf-8").replace("description:", "# why: the CRM owns this\ndescription:"), encoding="utf-8")
        again = client.post(f"{API}/config", json={"name": "commented", "configuration": definition(owner="crm-team")})
        assert again.status_code == 200, again.text
        text = path.read_text(encoding="utf-8")
        assert "# why: the CRM owns this" in text and "owner: crm-team" in text
        assert client.delete(f"{API}/config/commented").status_code == 200
        assert not path.exists()
        assert client.delete(f"{API}/config/commented").status_code == 404


@pytest.fixture(scope="module")
def branch_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = make_project(tmp_path_factory.mktemp("branch"))  # no connector runs here: no cache needed
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "features on")
    with serve(root, default_settings(git_branch=True, workers=1)) as running:
        yield running


def test_git_branch_commits_without_touching_the_working_tree(branch_service: Running) -> None:
    root = branch_service.root
    head = git(root, "rev-parse", "HEAD")
    status = git(root, "status", "--porcelain")
    with branch_service.client(branch_service.keys.writer) as client:
        response = client.post(f"{API}/config", json={"name": "crm_branch", "configuration": definition()})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["branch"] == "bmad-gitops/crm_branch"
    assert git(root, "rev-parse", "HEAD") == head
    assert git(root, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(root, "status", "--porcelain") == status
    assert not (root / "sources" / "crm_branch.yaml").exists()
    log = git(root, "rev-list", f"{head}..bmad-gitops/crm_branch").splitlines()
    assert log == [body["commit"]]
    changed = git(root, "diff-tree", "--no-commit-id", "--name-only", "-r", body["commit"]).splitlines()
    assert changed == ["sources/crm_branch.yaml"]
    text = git(root, "show", "bmad-gitops/crm_branch:sources/crm_branch.yaml")
    assert "dataset_name: customers" in text


def test_features_flag_turns_connector_endpoints_off(branch_service: Running) -> None:
    from bmad_gitops.service.features import set_feature

    set_feature(branch_service.root, "pyairbyte_integration", False)
    try:
        with branch_service.client(branch_service.keys.admin) as client:
            for response in (
                client.post(f"{API}/discover", json={"source": "customers"}),
                client.post(f"{API}/read", json={"source": "customers", "stream_name": "customers"}),
                client.post(f"{API}/database", json={"database_type": "postgres", "connection": {"host": "127.0.0.1"}}),
            ):
                assert response.status_code == 503
                assert response.json()["error"] == "PyAirbyte integration is disabled"
                assert "bmad-gitops features enable pyairbyte_integration" in response.json()["hint"]
            assert client.get(f"{API}/config").status_code == 200
    finally:
        set_feature(branch_service.root, "pyairbyte_integration", True)


def test_features_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from bmad_gitops.service.commands import features

    (tmp_path / "bmad-gitops.yaml").write_text("# settings\nsources: sources\n", encoding="utf-8")
    (tmp_path / "sources").mkdir()
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert "disabled" in runner.invoke(features, ["list"]).output
    assert runner.invoke(features, ["enable", "pyairbyte_integration"]).exit_code == 0
    text = (tmp_path / "bmad-gitops.yaml").read_text(encoding="utf-8")
    assert "# settings" in text and "pyairbyte_integration: true" in text
    assert "enabled" in runner.invoke(features, ["list", "pyairbyte_integration"]).output
    assert runner.invoke(features, ["enable", "nope"]).exit_code != 0
