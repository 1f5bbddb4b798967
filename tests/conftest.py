"""Shared fixtures: a throwaway project root to validate definitions in, and one-call ways to do it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmad_gitops.cli import main

REPO = Path(__file__).resolve().parent.parent

WriteSource = Callable[..., str]
RunCli = Callable[..., tuple[int, str, str]]
ValidateSource = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root (marked by `.git`) with an empty sources/, the seed data files and the seed story ids
    (BMad v4 stories 1.1, 1.2 and 2.1, citing nothing), as the working directory."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "sources").mkdir()
    (tmp_path / "data").mkdir()
    for name in ("customers.csv", "api_logs.jsonl"):
        shutil.copy(REPO / "data" / name, tmp_path / "data" / name)
    stories = tmp_path / "docs" / "stories"
    stories.mkdir(parents=True)
    for story_id in ("1.1", "1.2", "2.1"):
        (stories / f"{story_id}.seed.md").write_text(
            f"# Story {story_id}: Seed\n\n## Status\n\nDone\n", encoding="utf-8"
        )
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_source(project: Path) -> WriteSource:
    """Write `content` (text or bytes) to `sources/<filename>`; returns the path relative to the root."""

    def write(content: str | bytes, filename: str = "customers.yaml") -> str:
        path = project / "sources" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path.relative_to(project).as_posix()

    return write


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Call `bmad-gitops ARGS...` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def validate_source(write_source: WriteSource, run_cli: RunCli) -> ValidateSource:
    """Write one definition into sources/ and validate just that file: (exit code, `--format json` report)."""

    def validate(content: str | bytes, filename: str = "customers.yaml") -> tuple[int, dict[str, Any]]:
        code, out, _ = run_cli("validate", "--format", "json", write_source(content, filename))
        return code, json.loads(out)

    return validate
