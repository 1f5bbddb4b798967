"""validate imports connectors.sql.config, and the registry imports nothing else of ours until a backend runs:
neither may pull in SQLAlchemy, a driver, ruamel.yaml or (for config) pydantic."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from bmad_gitops.connectors.sql.backend import importing_without_collector

HEAVY = ("sqlalchemy", "psycopg", "pymysql", "ruamel.yaml", "pydantic")


@pytest.mark.parametrize(
    ("modules", "allowed"),
    [
        ("bmad_gitops.connectors.sql, bmad_gitops.connectors.sql.config", ()),
        ("bmad_gitops.connectors.sql.backend, bmad_gitops.writer", ()),
        ("bmad_gitops.importer", ()),  # it reads catalogs: plain dataclasses
    ],
)
def test_light_imports(modules: str, allowed: tuple[str, ...]) -> None:
    code = f"import sys, {modules}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out == f"{sorted(allowed)}\n"


def test_a_discover_never_imports_pydantic() -> None:
    """Importing pydantic costs more than a database's catalog queries: the catalog and what discover runs
    (reflection, statistics, the discovery stage, the CLI's rendering) must not need it."""
    modules = (
        "bmad_gitops.catalog, bmad_gitops.connectors.sql.reflect, bmad_gitops.connectors.sql.statistics,"
        " bmad_gitops.discovery, bmad_gitops.engine, bmad_gitops.render.catalog_text"
    )
    code = f"import sys, {modules}; print('pydantic' in sys.modules, 'sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out == "False True\n"  # SQLAlchemy is there: the import list did reach the backend


def test_heavy_imports_pause_the_collector_and_restore_it() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), importing_without_collector():
        assert not gc.isenabled()
        raise RuntimeError("an import failed")
    assert gc.isenabled()
    gc.disable()  # a caller that had it off keeps it off
    try:
        with importing_without_collector():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
