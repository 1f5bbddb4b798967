"""deploy plan/apply against the loopback Airbyte, every request and response checked against the document."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from airbyte_contract import AirbyteContractServer, Fault
from conftest import CANARY, CUSTOMERS, WORKSPACE, write_settings

from tests.conftest import RunCli

STATE = Path("state/deploy") / f"airbyte-{WORKSPACE}.json"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def writes(server: AirbyteContractServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.requests if r.method in WRITES and r.path != "/v1/applications/token"]


def writes_since(server: AirbyteContractServer, start: int) -> list[str]:
    return [r.method for r in server.requests[start:] if r.method in WRITES and r.path != "/v1/applications/token"]


def test_first_deploy_creates_and_second_changes_nothing(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli
) -> None:
    code, out, err = run_cli("deploy", "plan", "--detailed-exitcode")
    assert code == 2, err
    assert "+ customers (source, file)" in out and "+ orders_db (source, postgres)" in out
    assert "password: (sensitive)" in out
    assert "Deploy: 4 to add, 0 to change, 0 to destroy." in out

    code, out, err = run_cli("deploy", "apply", "--auto-approve")
    assert code == 0, out + err
    assert "Deploy complete! Resources: 4 added" in out
    assert sorted(writes(airbyte)) == ["POST /v1/connections"] * 2 + ["POST /v1/sources"] * 2
    assert not airbyte.refused
    names = sorted(s["name"] for s in airbyte.sources.values())
    assert names == ["bmad-gitops:customers", "bmad-gitops:orders_db"]
    connection = next(c for c in airbyte.connections.values() if c["name"] == "bmad-gitops:customers")
    assert connection["schedule"] == {"scheduleType": "manual"}
    assert connection["configurations"]["streams"] == [
        {"name": "customers", "syncMode": "incremental_deduped_history", "cursorField": ["created_at"],
         "primaryKey": [["customer_id"]]}
    ]
    other = next(c for c in airbyte.connections.values() if c["name"] == "bmad-gitops:orders_db")
    assert "streams" not in other["configurations"] or not other["configurations"]["streams"]  # every stream

    state = (deploy_project / STATE).read_bytes()
    before = len(airbyte.requests)
    code, out, err = run_cli("deploy", "plan", "--detailed-exitcode")
    assert (code, out) == (0, "No changes. The Airbyte workspace matches your sources.\n"), err
    code, out, _ = run_cli("deploy", "apply", "--auto-approve")
    assert code == 0 and "No changes." in out
    assert not [r for r in airbyte.requests[before:] if r.method in WRITES and "token" not in r.path]
    assert (deploy_project / STATE).read_bytes() == state  # not a byte changed


def test_a_config_change_patches(deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli) -> None:
    assert run_cli("deploy", "apply", "--auto-approve")[0] == 0
    path = deploy_project / "sources" / "orders_db.yaml"
    path.write_text(path.read_text().replace("db.internal", "db2.internal"), encoding="utf-8")
    code, out, _ = run_cli("deploy", "plan", "--detailed-exitcode")
    assert code == 2
    assert "~ orders_db (source, postgres)" in out and "~ host: db.internal -> db2.internal" in out
    assert "Deploy: 0 to add, 1 to change, 0 to destroy." in out
    before = len(airbyte.requests)
    assert run_cli("deploy", "apply", "--auto-approve")[0] == 0
    assert writes_since(airbyte, before) == ["PATCH"]
    remote = next(s for s in airbyte.sources.values() if s["name"] == "bmad-gitops:orders_db")
    assert remote["configuration"]["host"] == "db2.internal"
    assert remote["configuration"]["password"] == CANARY  # the full config, secret included, was sent
    assert run_cli("deploy", "plan", "--detailed-exitcode")[0] == 0


def test_a_change_made_in_airbyte_is_put_back(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli
) -> None:
    assert run_cli("deploy", "apply", "--auto-approve")[0] == 0
    remote = next(s for s in airbyte.sources.values() if s["name"] == "bmad-gitops:orders_db")
    remote["configuration"]["database"] = "edited_in_the_ui"
    code, out, _ = run_cli("deploy", "plan", "--detailed-exitcode")
    assert code == 2 and "~ database: edited_in_the_ui -> shop" in out


def test_removed_definition_deletes_only_ours_and_hand_made_is_left_alone(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli
) -> None:
    hand = airbyte.add_source(
        "Finance Postgres", {"sourceType": "postgres", "host": "h", "port": 5432, "database": "d", "username": "u"}
    )
    assert run_cli("deploy", "apply", "--auto-approve")[0] == 0
    ours = {s["name"]: i for i, s in airbyte.sources.items()}
    (deploy_project / "sources" / "orders_db.yaml").unlink()
    code, out, _ = run_cli("deploy", "plan", "--detailed-exitcode")
    assert code == 2
    assert "- orders_db (source, postgres)" in out and "<- destroy" in out
    assert "Left alone (not created by bmad-gitops): 'Finance Postgres' (postgres, " + hand + ")" in out
    before = len(airbyte.requests)
    assert run_cli("deploy", "apply", "--auto-approve")[0] == 0
    deleted = [f"{r.method} {r.path}" for r in airbyte.requests[before:] if r.method == "DELETE"]
    orders = ours["bmad-gitops:orders_db"]
    assert deleted[-1] == f"DELETE /v1/sources/{orders}" and len(deleted) == 2  # its connection first
    assert hand in airbyte.sources and ours["bmad-gitops:customers"] in airbyte.sources
    state = json.loads((deploy_project / STATE).read_text())
    assert sorted(state["sources"]) == ["customers"]
    code, out, _ = run_cli("deploy", "plan", "--detailed-exitcode")
    assert code == 0 and "Left alone" in out


def test_a_prefixed_source_without_state_counts_as_ours(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli
) -> None:
    stray = airbyte.add_source(
        "bmad-gitops:old_one", {"sourceType": "postgres", "host": "h", "port": 5432, "database": "d", "username": "u"}
    )
    code, out, _ = run_cli("deploy", "plan", "--detailed-exitcode")
    assert code == 2 and "- old_one (source, postgres)" in out and "recognised as ours by the name prefix" in out
    write_settings(deploy_project, airbyte.url, prefix="")  # name recognition off: only recorded ids count
    _, out, _ = run_cli("deploy", "plan")
    assert "- old_one" not in out and f"'bmad-gitops:old_one' (postgres, {stray})" in out


def test_a_renamed_definition_keeps_its_remote_source(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli
) -> None:
    assert run_cli("deploy", "apply", "--auto-approve")[0] == 0
    before_ids = set(airbyte.sources)
    (deploy_project / "sources" / "orders_db.yaml").rename(deploy_project / "sources" / "shop_db.yaml")
    code, out, _ = run_cli("deploy", "plan", "--detailed-exitcode")
    assert code == 2 and "~ name: bmad-gitops:orders_db -> bmad-gitops:shop_db" in out and "renamed from orders_db" in out
    assert "to destroy" in out and "0 to add" in out
    assert run_cli("deploy", "apply", "--auto-approve")[0] == 0
    assert set(airbyte.sources) == before_ids
    assert sorted(json.loads((deploy_project / STATE).read_text())["sources"]) == ["customers", "shop_db"]
    assert run_cli("deploy", "plan", "--detailed-exitcode")[0] == 0


def test_lists_are_paginated_and_no_source_is_fetched_one_by_one(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli
) -> None:
    for i in range(230):
        airbyte.add_source(f"hand made {i:03d}", {"sourceType": "postgres", "host": "h", "port": 1, "database": "d", "username": "u"})
    code, out, _ = run_cli("deploy", "plan")
    assert code == 0 and "230 left alone" in out
    offsets = [r.query["offset"][0] for r in airbyte.calls("GET", "/v1/sources")]
    assert offsets == ["0", "100", "200"]
    assert all(r.query["limit"] == ["100"] for r in airbyte.calls("GET", "/v1/sources"))
    assert not airbyte.calls("GET", "/v1/sources/.+")


def test_429_then_success(deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli) -> None:
    airbyte.faults.append(Fault("GET", "/v1/sources", 429, {"Retry-After": "0"}))
    airbyte.faults.append(Fault("POST", "/v1/sources", 429, {"Retry-After": "0"}))
    airbyte.faults.append(Fault("GET", "/v1/connections", 503, {"Retry-After": "0"}))
    code, out, err = run_cli("deploy", "apply", "--auto-approve")
    assert code == 0, out + err
    assert [r.status for r in airbyte.calls("GET", "/v1/sources")] == [429, 200]
    assert len(airbyte.sources) == 2  # the refused POST was sent again, once


def test_a_500_on_create_is_not_retried_and_stops(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli
) -> None:
    airbyte.faults.append(Fault("POST", "/v1/sources", 500))
    code, out, _ = run_cli("deploy", "apply", "--auto-approve")
    assert code == 1
    assert "failed: source customers: Airbyte API: POST /sources failed with 500: injected 500" in out
    assert "Deploy stopped at the first failure." in out
    assert len(airbyte.calls("POST", "/v1/sources")) == 1


def test_expired_token_is_renewed(deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli) -> None:
    assert run_cli("deploy", "plan")[0] == 0
    airbyte.expire_tokens()
    assert run_cli("deploy", "plan")[0] == 0


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"AIRBYTE_CLIENT_ID": "client-id", "AIRBYTE_CLIENT_SECRET": "expired"}, "AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET"),
        ({"AIRBYTE_API_TOKEN": "expired-token"}, "AIRBYTE_API_TOKEN"),
        ({}, "AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET"),
    ],
)
def test_refused_or_missing_credentials_are_one_line(
    deploy_project: Path,
    airbyte: AirbyteContractServer,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    named: str,
) -> None:
    for name in ("AIRBYTE_CLIENT_ID", "AIRBYTE_CLIENT_SECRET", "AIRBYTE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_cli("deploy", "plan")
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and named in err
    assert "AIRBYTE_API_TOKEN" in err and "expired" not in err


def test_the_canary_secret_is_sent_but_never_shown_logged_or_stored(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shown = []
    for fmt in ("text", "json", "markdown", "github"):
        shown.append(run_cli("deploy", "plan", "--format", fmt))
    shown.append(run_cli("deploy", "apply", "--auto-approve"))
    path = deploy_project / "sources" / "orders_db.yaml"
    path.write_text(path.read_text().replace("db.internal", "db3.internal"), encoding="utf-8")
    shown.append(run_cli("deploy", "apply", "--auto-approve"))
    sent = [r.body for r in airbyte.requests if CANARY.encode() in r.body]
    assert len(sent) == 2  # the create and the patch carried it
    for _, out, err in shown:
        assert CANARY not in out + err
    assert CANARY not in caplog.text
    for file in deploy_project.rglob("*"):
        if file.is_file() and ".git" not in file.parts:
            assert CANARY.encode() not in file.read_bytes(), file
    plan = json.loads(shown[1][1])
    fields = [f for c in plan["changes"] for f in c["fields"] if f["field"] == "password"]
    assert fields and all(f["new"] == "(sensitive)" for f in fields)


API = """type: api
connector: source-declarative-manifest
config:
  base_url: https://api.example.com/v1
  endpoints:
    - name: users
      path: /users
"""


def test_an_api_definition_is_skipped_and_an_invalid_one_is_an_error_not_a_delete(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli
) -> None:
    (deploy_project / "sources" / "users_api.yaml").write_text(API, encoding="utf-8")
    code, out, err = run_cli("deploy", "apply", "--auto-approve")
    assert code == 0, out + err
    assert "Skipped users_api: source-declarative-manifest: the public API has no sourceType" in out
    (deploy_project / "sources" / "orders_db.yaml").write_text("type: database\nconnector: source-postgres\n")
    code, out, _ = run_cli("deploy", "plan", "--detailed-exitcode")
    assert code == 1 and "! orders_db" in out and "to destroy" in out and "0 to destroy" in out


def test_settings_are_required(project: Path, run_cli: RunCli) -> None:
    (project / "sources" / "customers.yaml").write_text(CUSTOMERS, encoding="utf-8")
    code, _, err = run_cli("deploy", "plan")
    assert code == 2 and "deploy.airbyte" in err


def test_the_server_refuses_what_the_contract_refuses(airbyte: AirbyteContractServer) -> None:
    import httpx

    token = httpx.post(
        f"{airbyte.url}/applications/token",
        json={"client_id": "client-id", "client_secret": "client-secret", "grant_type": "client_credentials"},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    bad = {"name": "x", "workspaceId": WORKSPACE, "configuration": {"sourceType": "file", "url": "u"}}
    assert httpx.post(f"{airbyte.url}/sources", json=bad, headers=headers).status_code == 400
    assert httpx.post(f"{airbyte.url}/sources", json={}, headers=headers).status_code == 400
    assert httpx.get(f"{airbyte.url}/sources?limit=500", headers=headers).status_code == 400
    assert len(airbyte.refused) == 3
    airbyte.refused.clear()


def test_a_missing_secret_variable_is_an_error_for_that_source_only(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PG_PASSWORD")
    code, out, _ = run_cli("deploy", "plan")
    assert code == 1
    assert "! orders_db" in out and "environment variable PG_PASSWORD is not set" in out
    assert "+ customers (source, file)" in out


def test_a_definition_schedule_becomes_the_connection_cron(
    deploy_project: Path, airbyte: AirbyteContractServer, run_cli: RunCli
) -> None:
    path = deploy_project / "sources" / "customers.yaml"
    path.write_text(path.read_text(encoding="utf-8") + 'schedule: "0 0 6 * * ?"\n', encoding="utf-8")
    assert run_cli("validate")[0] == 0
    code, out, err = run_cli("deploy", "apply", "--auto-approve")
    assert code == 0, out + err
    connection = next(c for c in airbyte.connections.values() if c["name"] == "bmad-gitops:customers")
    assert connection["schedule"]["scheduleType"] == "cron"
    assert connection["schedule"]["cronExpression"] == "0 0 6 * * ?"
    assert not airbyte.refused
