"""apply publishes lineage: docs, OpenLineage events and story blocks, from a real source-file extraction."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bmad_gitops.cli import main

pytestmark = pytest.mark.live

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def bmad_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "sources").mkdir()
    for name in ("customers", "api_logs"):
        shutil.copy(REPO / "sources" / f"{name}.yaml", tmp_path / "sources")
    shutil.copytree(REPO / "data", tmp_path / "data")
    shutil.copytree(REPO / "docs" / "stories", tmp_path / "docs" / "stories")
    shutil.copytree(REPO / ".bmad-core", tmp_path / ".bmad-core")
    with (tmp_path / "sources" / "api_logs.yaml").open("a", encoding="utf-8") as handle:
        handle.write("extraction:\n  sample: 3\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    return tmp_path


def snapshot(root: Path, folder: str) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / folder).rglob("*")) if p.is_file()}


def test_apply_writes_docs_events_and_story_blocks(bmad_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--out", "plan.json"]) == 0
    assert main(["apply", "plan.json", "--update-stories"]) == 0
    out = capsys.readouterr().out
    assert "Lineage docs updated: docs/lineage/README.md, docs/lineage/api_logs.md, docs/lineage/customers.md" in out
    assert "api_logs: 3 records sampled" in out, "the definition's extraction.sample applies without --sample"

    doc = (bmad_project / "docs" / "lineage" / "customers.md").read_text(encoding="utf-8")
    assert "```mermaid\nflowchart LR\n" in doc
    assert "| [1.1](../stories/1.1.customer-master-import.md) | Import the customer master data | Done |" in doc
    assert "| `customers` | 10 | 0 | 100.0% |" in doc
    index = (bmad_project / "docs" / "lineage" / "README.md").read_text(encoding="utf-8")
    assert "customers" in index and "api_logs" in index

    story = (bmad_project / "docs" / "stories" / "2.1.api-usage-dashboard.md").read_text(encoding="utf-8")
    assert "- [api_logs](../lineage/api_logs.md)" in story

    events = [
        json.loads(line)
        for line in (bmad_project / ".bmad-gitops" / "openlineage" / "events.jsonl").read_text().splitlines()
    ]
    kinds = sorted((e["job"]["name"], e["eventType"]) for e in events)
    assert kinds == [
        ("api_logs.test_extraction", "COMPLETE"),
        ("api_logs.test_extraction", "START"),
        ("customers.test_extraction", "COMPLETE"),
        ("customers.test_extraction", "START"),
    ]
    complete = next(
        e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] == "customers.test_extraction"
    )
    dataset = complete["inputs"][0]
    assert dataset["namespace"] == "file"
    assert dataset["name"] == str(bmad_project / "data" / "customers.csv")
    assert dataset["inputFacets"]["inputStatistics"]["rowCount"] == 10
    assert [f["name"] for f in dataset["facets"]["schema"]["fields"]] == [
        "country",
        "created_at",
        "customer_id",
        "email",
        "name",
    ]

    # Rebuilding from state with nothing changed rewrites no byte, stories included.
    docs, stories = snapshot(bmad_project, "docs/lineage"), snapshot(bmad_project, "docs/stories")
    assert main(["lineage", "--update-stories"]) == 0
    assert "Lineage docs are up to date." in capsys.readouterr().out
    assert snapshot(bmad_project, "docs/lineage") == docs
    assert snapshot(bmad_project, "docs/stories") == stories
