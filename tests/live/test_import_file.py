"""`bmad-gitops import file`: a definition written from a real discovery, which validate accepts and plan creates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bmad_gitops.cli import main

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.live


def test_import_file_writes_a_definition_that_validates_and_plans_as_a_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy(REPO / "data" / "customers.csv", tmp_path / "data" / "customers.csv")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")

    assert main(["import", "file", "data/customers.csv"]) == 0
    out = capsys.readouterr().out
    assert "wrote sources/customers.yaml with 1 stream(s)" in out
    written = (tmp_path / "sources" / "customers.yaml").read_text(encoding="utf-8")
    assert "url: data/customers.csv" in written and "customer_id: number" in written
    assert str(tmp_path) not in written  # the path stays relative to the project

    assert main(["validate"]) == 0
    capsys.readouterr()
    assert main(["plan", "--detailed-exitcode"]) == 2
    plan = capsys.readouterr().out
    assert "+ customers (file, source-file" in plan and "+ stream customers" in plan

    assert main(["import", "file", "data/customers.csv"]) == 2  # never overwrites without --force
    assert "already exists" in capsys.readouterr().err
    assert main(["import", "file", "../outside.csv"]) == 1
    assert "outside the project root" in capsys.readouterr().err
