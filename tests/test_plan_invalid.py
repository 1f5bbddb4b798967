"""An invalid definition with applied state is an error in the plan, never a destroy (no connector runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad_gitops.catalog import Column, Stream
from bmad_gitops.cli import main
from bmad_gitops.model import AppliedState
from bmad_gitops.state import write_state


def test_invalid_definition_is_not_planned_as_destroy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "shop.yaml").write_text(
        "type: database\nconnector: source-postgres\nconfig:\n  host: [1\n", encoding="utf-8"
    )
    stream = Stream(name="orders", columns=(Column(name="id", type="integer"),))
    write_state(
        tmp_path / "state",
        AppliedState(
            source="shop",
            type="database",
            connector="source-postgres",
            connector_version="x",
            config_fingerprint="f",
            streams=(stream,),
        ),
        root=tmp_path,
    )
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "state" / "shop.json").read_bytes()

    assert main(["plan"]) == 1
    out = capsys.readouterr()
    assert "<- destroy" not in out.out and "0 to destroy" in out.out
    assert "! shop (database, source-postgres)" in out.out
    assert "error: sources/shop.yaml:5:1: definition is invalid" in out.out
    assert "error[BG001]" in out.err

    assert main(["apply", "--auto-approve"]) == 1
    assert (tmp_path / "state" / "shop.json").read_bytes() == before
