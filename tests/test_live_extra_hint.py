"""Without the live extra, the live commands say in one line how to get it (validate keeps working)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bmad_gitops.cli import main


@pytest.mark.parametrize("command", [["plan"], ["apply"], ["discover", "x"], ["check", "x"], ["lineage"]])
def test_live_commands_name_the_extra(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "airbyte" else real(name, *a))
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(command) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["Error: this command needs the live engine: pip install 'bmad-gitops[live]'"]
    assert main(["validate"]) == 0
