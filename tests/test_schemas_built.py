"""The per-type schemas are built from source.schema.json; this fails while they are stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_per_type_schemas_are_current() -> None:
    spec = importlib.util.spec_from_file_location("build_schemas", REPO / "scripts" / "build_schemas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path, text in module.expected_files().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run `make schemas`"


def test_schemas_link_points_into_package() -> None:
    assert (REPO / "schemas" / "source.schema.json").resolve() == (REPO / "bmad_gitops" / "schemas" / "source.schema.json").resolve()
