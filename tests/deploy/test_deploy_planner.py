"""The pure planner: ownership, masked secrets, remote defaults, failed definitions (no files, no server)."""

from __future__ import annotations

from typing import Any

from bmad_gitops.deploy.desired import DesiredSet, DesiredSource, flatten
from bmad_gitops.deploy.model import DeployChange, Note
from bmad_gitops.deploy.planner import plan_deploy
from bmad_gitops.deploy.settings import AirbyteSettings
from bmad_gitops.deploy.state import DeployState
from bmad_gitops.resolve import Secret

SETTINGS = AirbyteSettings("744cc0ed-7f05-4949-9e60-2a814f90c035")


def desired(name: str, host: str = "h", secret: str = "PW") -> DesiredSource:
    config = {"sourceType": "postgres", "host": host, "password": Secret("value", secret)}
    public = flatten({"sourceType": "postgres", "host": host, "password": "${" + secret + "}"})
    return DesiredSource(
        name, SETTINGS.remote_name(name), "postgres", config, public, frozenset({"password"}), (secret,),
        f"fp-{host}-{secret}",
    )


def remote(source_id: str, name: str, **config: Any) -> dict[str, Any]:
    return {"sourceId": source_id, "name": name, "sourceType": "postgres", "workspaceId": SETTINGS.workspace_id,
            "configuration": {"sourceType": "postgres", **config}}


def deployed(d: DesiredSource, source_id: str) -> DeployState:
    return DeployState(SETTINGS.workspace_id, {d.source: d.record(source_id, None)})


def test_masked_secrets_and_remote_defaults_are_no_change() -> None:
    d = desired("a")
    listed = [remote("1", "bmad-gitops:a", host="h", password="**********", port=5432)]  # port: a default
    plan = plan_deploy(SETTINGS, DesiredSet((d,), (), frozenset({"a"})), deployed(d, "1"), listed)
    assert [c.action for c in plan.changes] == ["no-op"] and not plan.has_changes


def test_a_new_secret_variable_is_a_sensitive_update() -> None:
    old, new = desired("a"), desired("a", secret="PW2")
    listed = [remote("1", "bmad-gitops:a", host="h", password="**********")]
    plan = plan_deploy(SETTINGS, DesiredSet((new,), (), frozenset({"a"})), deployed(old, "1"), listed)
    (change,) = plan.changes
    assert change.action == "update"
    assert [(f.field, f.sensitive) for f in change.fields] == [("password", True)]


def test_a_definition_that_fails_keeps_its_remote_source() -> None:
    d = desired("a")
    failed = DeployChange("source", "a", "error", "bmad-gitops:a", notes=(Note("error", "broken"),))
    listed = [remote("1", "bmad-gitops:a", host="h")]
    plan = plan_deploy(SETTINGS, DesiredSet((), (failed,), frozenset({"a"})), deployed(d, "1"), listed)
    assert [c.action for c in plan.changes] == ["error"] and not plan.unmanaged


def test_only_recorded_or_prefixed_sources_are_deleted() -> None:
    d = desired("gone")
    listed = [remote("1", "bmad-gitops:gone"), remote("2", "Someone's"), remote("3", "bmad-gitops:stray")]
    plan = plan_deploy(SETTINGS, DesiredSet((), (), frozenset()), deployed(d, "1"), listed)
    assert sorted((c.remote_id, c.action) for c in plan.changes) == [("1", "delete"), ("3", "delete")]
    assert [u.remote_id for u in plan.unmanaged] == ["2"]
