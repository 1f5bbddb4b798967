"""writer.py: round-trip YAML with comments kept, atomic, permission-preserving, never outside the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap

from bmad_gitops.writer import WriteError, update_yaml, write_definition_yaml

DEFINITION = {
    "type": "database",
    "connector": "source-postgres",
    "config": {"host": "127.0.0.1", "port": 5432, "database": "shop", "username": "postgres",
               "password": "${POSTGRES_PASSWORD}"},
    "streams": [{"name": "orders", "primary_key": ["id"], "cursor": "updated_at",
                 "columns": {"id": "integer", "updated_at": "date-time"}}],
}  # fmt: skip

EXPECTED = """\
# yaml-language-server: $schema=../schemas/source.schema.json
type: database
connector: source-postgres
config:
  host: 127.0.0.1
  port: 5432
  database: shop
  username: postgres
  password: ${POSTGRES_PASSWORD}
streams:
  - name: orders
    primary_key: [id]
    cursor: updated_at
    columns:
      id: integer
      updated_at: date-time
"""

HEADER = "yaml-language-server: $schema=../schemas/source.schema.json"


def test_write_new_definition_exact_bytes_and_deterministic(tmp_path: Path) -> None:
    written = write_definition_yaml(tmp_path, Path("sources/orders_db.yaml"), DEFINITION, header_comment=HEADER)
    assert written == (tmp_path / "sources" / "orders_db.yaml").resolve()
    first = written.read_bytes()
    assert first.decode() == EXPECTED
    write_definition_yaml(tmp_path, Path("sources/orders_db.yaml"), DEFINITION, header_comment=HEADER, force=True)
    assert written.read_bytes() == first
    assert sorted(p.name for p in written.parent.iterdir()) == ["orders_db.yaml"]  # no temp file left


def test_existing_file_needs_force(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("keep: me\n", encoding="utf-8")
    with pytest.raises(WriteError) as caught:
        write_definition_yaml(tmp_path, Path("a.yaml"), {"x": 1})
    assert str(caught.value) == "a.yaml already exists; pass --force to overwrite it"
    assert (tmp_path / "a.yaml").read_text(encoding="utf-8") == "keep: me\n"


@pytest.mark.parametrize("path", ["../outside.yaml", "sources/../../outside.yaml"])
def test_refuses_paths_outside_the_root(tmp_path: Path, path: str) -> None:
    root = tmp_path / "project"
    root.mkdir()
    with pytest.raises(WriteError) as caught:
        write_definition_yaml(root, Path(path), {"x": 1})
    assert caught.value.message.startswith(f"refusing to write {path}: it resolves outside the project root")
    assert not (tmp_path / "outside.yaml").exists()


def test_refuses_a_symlink_that_leads_outside(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "sources").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "sources" / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(WriteError):
        write_definition_yaml(root, Path("sources/linked/x.yaml"), {"x": 1})
    with pytest.raises(WriteError):
        write_definition_yaml(root, outside / "x.yaml", {"x": 1})
    assert list(outside.iterdir()) == []


COMMENTED = """\
# yaml-language-server: $schema=../schemas/source.schema.json
type: database   # PostgreSQL
connector: source-postgres
config:
  host: 127.0.0.1
  # the shop's primary
  port: 5432
  password: "${POSTGRES_PASSWORD}"
streams:
  - name: orders
    primary_key: [id]
"""


def test_update_keeps_comments_order_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "sources" / "orders_db.yaml"
    path.parent.mkdir()
    path.write_text(COMMENTED, encoding="utf-8")
    path.chmod(0o640)

    def add_cursor(doc: CommentedMap) -> None:
        doc["streams"][0]["cursor"] = "updated_at"
        doc["on_drift"] = "warn"

    update_yaml(tmp_path, Path("sources/orders_db.yaml"), add_cursor)

    assert path.read_text(encoding="utf-8") == COMMENTED + "    cursor: updated_at\non_drift: warn\n"
    assert (path.stat().st_mode & 0o777) == 0o640


def test_update_refuses_missing_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(WriteError) as caught:
        update_yaml(tmp_path, Path("nope.yaml"), lambda doc: None)
    assert caught.value.message == "nope.yaml does not exist"
    (tmp_path / "list.yaml").write_text("- a\n", encoding="utf-8")
    with pytest.raises(WriteError) as caught:
        update_yaml(tmp_path, Path("list.yaml"), lambda doc: None)
    assert caught.value.message == "list.yaml does not hold a mapping at the top"
    (tmp_path / "bad.yaml").write_text("a: [\n", encoding="utf-8")
    with pytest.raises(WriteError) as caught:
        update_yaml(tmp_path, Path("bad.yaml"), lambda doc: None)
    assert caught.value.message == "bad.yaml is not valid YAML (line 2)"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("old: true\n", encoding="utf-8")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_definition_yaml(tmp_path, Path("a.yaml"), {"new": True}, force=True)
    assert path.read_text(encoding="utf-8") == "old: true\n"
    assert sorted(os.listdir(tmp_path)) == ["a.yaml"]


def test_new_file_gets_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        written = write_definition_yaml(tmp_path, Path("x.yaml"), {"x": 1})
    finally:
        os.umask(old)
    assert (written.stat().st_mode & 0o777) == 0o640
