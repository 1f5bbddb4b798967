"""Large sets are shared with forked children; the result must be exactly the single-process result."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bmad_gitops import validate
from bmad_gitops.project import load_project

GOOD = "type: database\nconnector: source-mysql\nconfig:\n  host: h\n  port: 3306\n  database: d\n  username: u\n"


def test_forked_workers_report_what_one_process_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    sources = tmp_path / "sources"
    sources.mkdir()
    for i in range(300):
        text = GOOD
        if i % 7 == 0:
            text += "password: hunter2\n" if i % 2 else "desciption: typo\n"
        (sources / f"s{i:03d}.yaml").write_text(text, encoding="utf-8")
    (sources / "sub").mkdir()
    (sources / "sub" / "s001.yml").write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    project = load_project()

    monkeypatch.setattr(validate, "_PARALLEL_FROM", 10**9)
    single = validate.validate_files(project)
    monkeypatch.setattr(validate, "_PARALLEL_FROM", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    forked = validate.validate_files(project)

    assert forked == single
    assert {d.code for d in single} == {"BG101", "BG200", "BG300"}
    broken = [i for i in range(300) if i % 7 == 0]
    expected = sum(2 if i % 2 else 1 for i in broken)  # a top-level password is unknown and plaintext
    assert len([d for d in single if d.code != "BG300"]) == expected
