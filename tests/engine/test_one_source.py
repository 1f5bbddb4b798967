"""Commands about one source (discover, check) validate that source's files and the rules across files only."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad_gitops import validate
from bmad_gitops.load import read_document

from .conftest import ORDERS, Project


@pytest.fixture
def files_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The definition files validate opens (the real reader runs; only the names are noted)."""
    seen: list[str] = []

    def reading(path: Path, display: str) -> object:
        seen.append(display)
        return read_document(path, display)

    monkeypatch.setattr(validate, "read_document", reading)
    return seen


def test_discover_reads_only_the_named_definition(
    project: Project, capsys: pytest.CaptureFixture[str], files_read: list[str]
) -> None:
    project.upstream("shop", ORDERS)
    project.define("shop")
    for other in ("alpha", "omega"):
        project.define(other)
    (project.root / "sources" / "broken.yaml").write_text("type: [unclosed\n", encoding="utf-8")

    code, out, err = project.run(capsys, "discover", "shop")

    assert code == 0, out + err
    assert "orders" in out
    assert files_read == ["sources/shop.yaml"]


def test_a_name_used_twice_still_counts_in_a_one_source_command(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.upstream("shop", ORDERS)
    project.define("shop")
    twin = project.root / "sources" / "a" / "shop.yml"  # sorts first: the file that keeps the name
    twin.parent.mkdir()
    twin.write_text("type: [unclosed\n", encoding="utf-8")

    code, _, err = project.run(capsys, "check", "shop")

    assert code == 1  # sources/shop.yaml is the second file named shop, so it is not the source `shop`
    assert err.startswith("error: sources/"), err
    assert "hint: run `bmad-gitops validate`" in err


def test_an_unknown_name_lists_every_definition_even_broken_ones(
    project: Project, capsys: pytest.CaptureFixture[str], files_read: list[str]
) -> None:
    project.define("alpha")
    (project.root / "sources" / "broken.yaml").write_text("type: [unclosed\n", encoding="utf-8")

    code, _, err = project.run(capsys, "discover", "nope")

    assert code == 1
    assert "error: no source named 'nope' in sources/" in err and "known: alpha, broken" in err, err
    assert files_read == []  # the names come from the file names: nothing needed parsing


def test_a_broken_named_definition_says_where(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    (project.root / "sources").mkdir()
    (project.root / "sources" / "shop.yaml").write_text("type: file\nconnector: [unclosed\n", encoding="utf-8")

    code, _, err = project.run(capsys, "check", "shop")

    assert code == 1
    assert err.startswith("error: sources/shop.yaml:"), err
    assert "hint: run `bmad-gitops validate`" in err
