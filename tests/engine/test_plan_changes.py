"""A plan that shows every change: each case found by trying the tool as a new user would (engine issue).

These run the real CLI, planner, applier, state and lineage code over a fake backend from the registry.
"""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import pytest

from bmad_gitops.cli import main

from .conftest import ORDERS, FakeBackend, Project

SELECTED = "streams:\n  - name: orders\n    columns:\n      id: integer\n      amount: number\n"


def applied(project: Project, capsys: pytest.CaptureFixture[str], extra: str = "") -> None:
    project.upstream("shop", ORDERS)
    project.define("shop", extra)
    code, out, err = project.run(capsys, "apply", "--auto-approve")
    assert code == 0, out + err
    assert (project.root / "state" / "shop.json").is_file()


@pytest.mark.parametrize(
    ("before", "after", "field"),
    [
        ("owner: a@example.com\n", "owner: b@example.com\n", "owner"),
        ("on_drift: warn\n", "on_drift: freeze\n", "on_drift"),
        ("description: old\n", "description: new\n", "description"),
        ("tags: [a]\n", "tags: [a, b]\n", "tags"),
        ("extraction:\n  sample: 10\n", "extraction:\n  sample: 20\n", "extraction.sample"),
        (SELECTED, SELECTED.replace("amount: number", "amount: any"), "streams.orders.columns.amount"),
        (SELECTED, SELECTED + "    sensitive: [amount]\n", "streams.orders.sensitive"),
    ],
)
def test_every_recorded_key_is_a_change_and_apply_records_it(
    project: Project, capsys: pytest.CaptureFixture[str], before: str, after: str, field: str
) -> None:
    applied(project, capsys, before)
    project.define("shop", after)
    code, out, _ = project.run(capsys, "plan", "--detailed-exitcode")
    assert code == 2, out
    assert "~ shop" in out and field in out, out
    assert "No changes." not in out
    doc_before = (project.root / "docs" / "lineage" / "shop.md").read_bytes()
    code, out, err = project.run(capsys, "apply", "--auto-approve")
    assert code == 0, out + err
    code, out, _ = project.run(capsys, "plan", "--detailed-exitcode")
    assert code == 0 and out.startswith("No changes."), out
    if field in ("owner", "description", "tags"):
        assert (project.root / "docs" / "lineage" / "shop.md").read_bytes() != doc_before


def test_stories_change_is_shown(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    stories = project.root / "docs" / "stories"
    stories.mkdir(parents=True)
    (stories / "1.1.first.md").write_text("# Story 1.1: First\n\n## Status\n\nDraft\n", encoding="utf-8")
    applied(project, capsys)
    project.define("shop", 'stories: ["1.1"]\n')
    code, out, _ = project.run(capsys, "plan", "--detailed-exitcode")
    assert code == 2 and "stories" in out, out


def test_narrowing_the_selection_is_a_config_change_never_breaking_drift(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream = {**ORDERS, "refunds": {"columns": {"id": "integer"}}}
    project.upstream("shop", upstream)
    project.define("shop", "on_drift: freeze\n")
    assert project.run(capsys, "apply", "--auto-approve")[0] == 0
    project.define("shop", "on_drift: freeze\nstreams:\n  - name: orders\n")
    code, out, _ = project.run(capsys, "plan")
    assert code == 0, out
    assert "BREAKING" not in out and "error" not in out
    assert "- stream refunds" in out


def test_narrowing_excel_sheets_is_a_selection_change(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    # Which streams exist follows the config (format_options) here: the fake reads all, a real workbook per sheet.
    project.upstream("shop", {**ORDERS, "refunds": {"columns": {"id": "integer"}}})
    project.define("shop", "on_drift: freeze\n")
    assert project.run(capsys, "apply", "--auto-approve")[0] == 0
    project.upstream("shop", ORDERS)
    path = project.define("shop", "on_drift: freeze\n")
    path.write_text(path.read_text().replace("  provider:", "  format_options:\n    delimiter: ','\n  provider:"))
    code, out, _ = project.run(capsys, "plan")
    assert code == 0, out
    assert "BREAKING" not in out and "- stream refunds" in out


def test_upstream_drift_points_at_the_column_line_and_says_them(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(project, capsys, SELECTED)
    changed = copy.deepcopy(ORDERS)
    changed["orders"]["columns"]["amount"] = "string"
    changed["orders"]["primary_key"] = []
    project.upstream("shop", changed)
    code, out, _ = project.run(capsys, "plan", "--no-refresh")
    assert code == 0 and out.startswith("No changes."), out
    code, out, _ = project.run(capsys, "plan")
    assert "2 breaking drift changes; apply will accept them (on_drift: warn)" in out, out
    assert "sources/shop.yaml:1:1" not in out
    line = SELECTED.splitlines().index("      amount: number") + 10  # the definition's head is nine lines
    assert f"sources/shop.yaml:{line}:7:" in out or "sources/shop.yaml:11:" in out, out


def test_drift_without_streams_points_at_type(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    applied(project, capsys)
    project.upstream("shop", {"orders": {"columns": {"id": "integer"}, "primary_key": ["id"]}})
    code, out, _ = project.run(capsys, "plan")
    assert code == 0 and "sources/shop.yaml:1:1: 1 breaking drift change; apply will accept it" in out, out


def test_a_new_definition_without_a_backend_is_not_no_changes(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(project, capsys)
    (project.root / "sources" / "bucket.yaml").write_text(
        "type: s3\nconnector: source-s3\nconfig:\n  bucket: my-bucket\n  streams:\n    - name: x\n      globs: ['*.csv']\n      format: csv\n",
        encoding="utf-8",
    )
    import dataclasses

    from bmad_gitops.connectors.registry import entry, registered

    # A backend that cannot run here (as Docker-only connectors could not): its new definitions are unapplied.
    with registered(dataclasses.replace(entry("source-s3"), unavailable="needs a Docker engine")):
        code, out, _ = project.run(capsys, "plan", "--detailed-exitcode")
    assert code == 2, out
    assert "No changes." not in out and "1 skipped" in out


def test_outside_a_project_validate_and_plan_say_so_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "nowhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    for command in ("validate", "plan"):
        assert main([command]) == 2
        err = capsys.readouterr().err
        assert "is not a bmad-gitops project" in err and "bmad-gitops init" in err


def test_a_corrupt_state_file_blocks_only_its_source(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    applied(project, capsys)
    project.upstream("other", ORDERS)
    project.define("other")
    (project.root / "state" / "shop.json").write_bytes(b"\xff\xfe not json")
    code, out, err = project.run(capsys, "plan")
    assert code == 1
    assert "internal error" not in out + err
    assert "state/shop.json: is not UTF-8 text" in out and "git checkout -- " in out
    assert "+ other" in out


def test_a_second_apply_fails_on_the_lock_before_printing_a_plan(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    from bmad_gitops.state import apply_lock

    project.upstream("shop", ORDERS)
    project.define("shop")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with apply_lock(project.root / ".bmad-gitops"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        code, out, err = project.run(capsys, "apply", "--auto-approve")
    finally:
        release.set()
        holder.join()
    assert code == 1
    assert "state is locked by pid" in err
    assert "+ shop" not in out and FakeBackend.discovered == 0


def test_plan_github_format_annotates_messages(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    applied(project, capsys, "on_drift: freeze\n" + SELECTED)
    project.upstream("shop", {"orders": {"columns": {"id": "integer"}, "primary_key": ["id"]}})
    code, out, _ = project.run(capsys, "plan", "--format", "github")
    assert code == 1
    assert "::error file=sources/shop.yaml,line=" in out and "under on_drift%3A freeze" not in out
    assert "breaking drift change under on_drift: freeze" in out
    assert out.rstrip().splitlines()[-1].startswith("::notice title=bmad-gitops plan::Plan:")


def test_a_saved_plan_goes_stale_when_the_data_file_changes(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.upstream("shop", ORDERS)
    project.define("shop")
    assert project.run(capsys, "plan", "--out", "plan.json")[0] == 0
    project.upstream("shop", {"orders": {"columns": {"id": "integer"}}})
    code, _, err = project.run(capsys, "apply", "plan.json")
    assert code == 1 and "plan is stale: the live schema of 'shop' changed" in err
    assert not (project.root / "state" / "shop.json").exists()


def test_a_tampered_plan_is_refused(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.upstream("shop", ORDERS)
    project.define("shop")
    assert project.run(capsys, "plan", "--out", "plan.json")[0] == 0
    saved = json.loads((project.root / "plan.json").read_text())
    saved["sources"][0]["name"] = "../../etc/passwd"
    (project.root / "plan.json").write_text(json.dumps(saved))
    code, _, err = project.run(capsys, "apply", "plan.json")
    assert code == 1 and "is not a valid source name" in err
    saved["sources"][0]["name"] = "shop"
    saved["sources"][0]["unexpected"] = 1
    (project.root / "plan.json").write_text(json.dumps(saved))
    code, _, err = project.run(capsys, "apply", "plan.json")
    assert code == 1 and "is not a plan this version of bmad-gitops wrote" in err


def test_every_option_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    import click

    from bmad_gitops.cli import cli

    def walk(prefix: str, group: click.Group) -> None:
        for name, command in group.commands.items():
            assert command.help or command.short_help, f"{prefix}{name} has no help"
            for param in command.params:
                if isinstance(param, click.Option) and param.name not in ("help", "version"):
                    assert param.help, f"{prefix}{name} {param.opts} has no help"
            if isinstance(command, click.Group):
                walk(f"{prefix}{name} ", command)

    walk("", cli)


def test_format_choices_match_the_renderer_tables() -> None:
    from bmad_gitops.cli import APPLY_FORMATS, CATALOG_FORMATS, DIAGNOSTIC_FORMATS, PLAN_FORMATS
    from bmad_gitops.render.catalog_text import CATALOG_RENDERERS
    from bmad_gitops.render.diagnostics import RENDERERS
    from bmad_gitops.render.views import PLAN_RENDERERS, apply_renderers

    assert sorted(PLAN_FORMATS) == sorted(PLAN_RENDERERS)
    assert sorted(DIAGNOSTIC_FORMATS) == sorted(RENDERERS)
    assert sorted(CATALOG_FORMATS) == sorted(CATALOG_RENDERERS)
    assert sorted(APPLY_FORMATS) == sorted(apply_renderers())


def test_apply_report_as_json(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    project.upstream("shop", ORDERS)
    project.define("shop")
    code, out, _ = project.run(capsys, "apply", "--auto-approve", "--format", "json")
    assert code == 0
    report = json.loads(out)
    (result,) = report["results"]
    assert (result["name"], result["outcome"], report["failed"]) == ("shop", "applied", 0)
    assert result["profiles"][0]["records"] == 1 and "samples" not in result


def test_apply_reports_extraction_time_and_speed_per_stream(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    project.upstream("shop", ORDERS)
    project.define("shop")
    code, out, _ = project.run(capsys, "apply", "--auto-approve")
    assert code == 0
    assert re.search(r"orders: 1 records sampled, 0 with type violations, completeness 100% \(\d+\.\d\d s", out), out
    assert "seconds" not in (project.root / "state" / "shop.json").read_text()  # timings never churn the state


def test_remote_sources_are_asked_every_plan_unless_a_cache_lifetime_is_given(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    from bmad_gitops.connectors.registry import entry, registered

    project.upstream("shop", ORDERS)
    project.define("shop")
    with registered(dataclasses.replace(entry("source-file"), remote=True)):
        assert project.run(capsys, "apply", "--auto-approve")[0] == 0
        for _ in range(2):
            before = FakeBackend.discovered
            assert project.run(capsys, "plan")[0] == 0
            assert FakeBackend.discovered == before + 1, "a remote source must be discovered on every plan"
        assert project.run(capsys, "plan", "--remote-cache", "600")[0] == 0  # fills the cache
        before = FakeBackend.discovered
        assert project.run(capsys, "plan", "--remote-cache", "600")[0] == 0
        assert FakeBackend.discovered == before, "within its lifetime the cached catalog is used"
        assert project.run(capsys, "plan", "--remote-cache", "0")[0] == 0
        assert FakeBackend.discovered == before + 1, "an expired entry is discovered again"


@pytest.mark.parametrize(
    "edit",
    [
        "    columns_only: true\n",
        "    cursor: amount\n",
    ],
)
def test_a_users_own_stream_edit_is_a_selection_change_not_breaking_drift(
    project: Project, capsys: pytest.CaptureFixture[str], edit: str
) -> None:
    upstream = {"orders": {**ORDERS["orders"], "columns": {"id": "integer", "amount": "number", "note": "string"}}}
    project.upstream("shop", upstream)
    declared = "on_drift: freeze\nstreams:\n  - name: orders\n    columns:\n      id: integer\n      amount: number\n"
    project.define("shop", declared)
    assert project.run(capsys, "apply", "--auto-approve")[0] == 0
    project.define("shop", declared + edit)
    code, out, _ = project.run(capsys, "plan")
    assert code == 0, out
    assert "BREAKING" not in out and "error" not in out
    assert project.run(capsys, "apply", "--auto-approve")[0] == 0
