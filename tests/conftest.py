"""Shared fixtures: a throwaway project root to validate definitions in, and a one-call way to do it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmad_gitops.cli import main

REPO = Path(__file__).resolve().parent.parent

# (exit code, parsed `--format json` output)
ValidateResult = tuple[int, dict[str, Any]]
ValidateSource = Callable[..., ValidateResult]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root (marked by `.git`) holding `data/customers.csv`, as the working directory."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy(REPO / "data" / "customers.csv", tmp_path / "data" / "customers.csv")
    (tmp_path / "sources").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def validate_source(project: Path, capsys: pytest.CaptureFixture[str]) -> ValidateSource:
    """Write `content` (text or bytes) to `sources/<filename>` and validate that one file.

    Returns the exit code and the JSON report; fails the test if the output is not JSON.
    """

    def run(content: str | bytes, filename: str = "customers.yaml") -> ValidateResult:
        path = project / "sources" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        capsys.readouterr()
        code = main(["validate", "--format", "json", str(path.relative_to(project))])
        out = capsys.readouterr().out
        return code, json.loads(out)

    return run
