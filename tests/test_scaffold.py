"""`init` and `new` on real temporary repositories; a filled-in template validates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bmad_gitops.cli import main
from bmad_gitops.scaffold import KIND_TEMPLATES

REPO = Path(__file__).resolve().parent.parent

# What a user would type over each placeholder.
FILLS = {
    "<what this file holds>": "Test data.",
    "<what this workbook holds>": "Test data.",
    "<what this database holds>": "Test data.",
    "<what this API serves>": "Test data.",
    "<what these files hold>": "Test data.",
    "<team or e-mail>": "data-team",
    "<path/to/file.csv>": "data/customers.csv",
    "<path/to/file.jsonl>": "data/api_logs.jsonl",
    "<path/to/workbook.xlsx>": "data/sales.xlsx",
    "<db.example.com>": "127.0.0.1",
    "<database name>": "shop",
    "<user>": "reader",
    "<https://api.example.com/v1>": "https://api.example.com/v1",
    "<items>": "items",
    "</items>": "/items",
    "<bucket-name>": "acme-exports",
    "<eu-west-1>": "eu-west-1",
    "<exports>": "exports",
    "<exports/*.csv>": "exports/*.csv",
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    shutil.copytree(REPO / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_creates_files_and_is_idempotent(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "README.md").write_text("# My data\n", encoding="utf-8")
    assert main(["init"]) == 0
    first = capsys.readouterr().out
    for name in ("sources/.gitkeep", "schemas/source.schema.json", ".pre-commit-config.yaml", ".github/workflows/bmad-gitops.yml"):
        assert f"created {name}" in first
        assert (repo / name).exists()
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# My data\n") and "bmad-gitops validate" in readme
    snapshot = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert main(["init"]) == 0
    assert "created" not in capsys.readouterr().out
    assert {p: p.read_bytes() for p in snapshot} == snapshot


@pytest.mark.parametrize("kind", KIND_TEMPLATES)
def test_new_template_validates_once_filled(kind: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    assert main(["new", kind, "my_source"]) == 0
    path = repo / "sources" / "my_source.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schemas/source.schema.json\n")
    capsys.readouterr()

    # Unfilled, it must not pass: every placeholder is reported.
    assert main(["validate", "--format", "json", str(path)]) == 1
    codes = {d["code"] for d in json.loads(capsys.readouterr().out)["diagnostics"]}
    assert "BG105" in codes

    for placeholder, value in FILLS.items():
        text = text.replace(placeholder, value)
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 0, capsys.readouterr().out


def test_new_refuses_bad_name_and_overwrite(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "csv", "My-Source"]) == 2
    assert "lower snake_case" in capsys.readouterr().err
    assert main(["new", "csv", "ok_name"]) == 0
    assert main(["new", "csv", "ok_name"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["new", "csv", "ok_name", "--force"]) == 0


def test_new_without_local_schema_points_at_schema_id(repo: Path) -> None:
    assert main(["new", "postgres", "pg"]) == 0
    first = (repo / "sources" / "pg.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=https://bmad-gitops.dev/schemas/source.schema.json"


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "bmad-gitops, version" in capsys.readouterr().out
    for command in ("validate", "init", "new"):
        assert main([command, "--help"]) == 0
        assert "Usage:" in capsys.readouterr().out
