"""validate's story checks on a real BMad v4 story folder: unknown ids, duplicated ids, unknown cited sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bmad_gitops.cli import main

REPO = Path(__file__).resolve().parent.parent

DEFINITION = """type: file
connector: source-file
format: csv
config:
  dataset_name: customers
  format: csv
  url: data/customers.csv
  provider:
    storage: local
stories:
  - "1.1"
  - "9.9"
  - "1.2"
"""


@pytest.fixture
def bmad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    shutil.copytree(REPO / "data", tmp_path / "data")
    stories = tmp_path / "docs" / "stories"
    stories.mkdir(parents=True)
    (stories / "1.1.import.md").write_text("# Story 1.1: Import\n\n## Status\n\nDone\n", encoding="utf-8")
    (stories / "1.2.story.md").write_text("# Story 1.2: Join\n\n## Status\n\nDraft\n", encoding="utf-8")
    (stories / "1.2.join-orders.md").write_text(
        "# Story 1.2: Join\n\n## Status\n\nDraft\n\n## Dev Notes\n\nUses [Source: lineage/ghost.md] too.\n", encoding="utf-8"
    )
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "customers.yaml").write_text(DEFINITION, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def diagnostics(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str, int, int]]:
    payload = json.loads(capsys.readouterr().out)
    return [(d["code"], d["path"], d["line"], d["col"]) for d in payload["diagnostics"]]


def test_story_links_are_checked(bmad: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json"]) == 1
    assert diagnostics(capsys) == [
        ("BG502", "docs/stories/1.2.join-orders.md", 9, 23),
        ("BG500", "sources/customers.yaml", 12, 5),
        ("BG501", "sources/customers.yaml", 13, 5),
    ]


def test_warnings_alone_do_not_fail(bmad: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DEFINITION.replace('  - "9.9"\n', "")
    (bmad / "sources" / "customers.yaml").write_text(text, encoding="utf-8")
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "warning[BG501]: story 1.2 matches more than one file" in out
    assert "warning[BG502]: story 1.2 cites unknown source 'ghost'" in out


def test_no_stories_at_all_explains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".git").mkdir()
    shutil.copytree(REPO / "data", tmp_path / "data")
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "customers.yaml").write_text(DEFINITION, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 1
    assert "hint: no BMad stories were found" in capsys.readouterr().out
