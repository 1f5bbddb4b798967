"""Secrets stay wrapped; state files are deterministic and written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bmad_gitops.catalog import Column, Stream
from bmad_gitops.definitions import load_definitions
from bmad_gitops.errors import EnvError as ResolveError
from bmad_gitops.extraction import mask_record, profile_records, sensitive_columns
from bmad_gitops.model import AppliedState
from bmad_gitops.project import load_project
from bmad_gitops.resolve import Secret, resolve, reveal
from bmad_gitops.state import read_state, render_state, write_state

CANARY = "canary-9f3e-secret"

PG = """type: database
connector: source-postgres
config:
  host: ${PG_HOST}
  port: 5432
  database: shop
  username: app
  password: "${PG_PASSWORD}"
"""


@pytest.fixture
def pg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "shop.yaml").write_text(PG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_secret_is_wrapped_and_fingerprint_has_no_value(pg: Path) -> None:
    definitions, diagnostics = load_definitions(load_project())
    assert diagnostics == []
    resolved = resolve(definitions[0], {"PG_PASSWORD": CANARY, "PG_HOST": "db.internal"})
    password = resolved.config["password"]
    assert isinstance(password, Secret)
    assert CANARY not in repr(resolved.config) and CANARY not in str(password)
    assert reveal(resolved.config)["password"] == CANARY
    assert resolved.public_config["password"] == "${PG_PASSWORD}"
    assert resolved.public_config["host"] == "${PG_HOST}"
    assert resolved.secret_refs == ("PG_PASSWORD",)
    other = resolve(definitions[0], {"PG_PASSWORD": "another", "PG_HOST": "db.internal"})
    assert other.fingerprint == resolved.fingerprint, "a secret's value must not move the fingerprint"
    moved = resolve(definitions[0], {"PG_PASSWORD": CANARY, "PG_HOST": "db2.internal"})
    assert moved.fingerprint != resolved.fingerprint, "a non-secret env value must move it"
    with pytest.raises(TypeError):
        json.dumps(password)


def test_missing_variable_names_it_and_its_line(pg: Path) -> None:
    definitions, _ = load_definitions(load_project())
    with pytest.raises(ResolveError) as err:
        resolve(definitions[0], {"PG_HOST": "h"})
    assert str(err.value) == "sources/shop.yaml:8:13: environment variable PG_PASSWORD is not set; export it or add PG_PASSWORD=... to .env"


def _state(**extra: object) -> AppliedState:
    stream = Stream(name="s", columns=(Column(name="b", type="string"), Column(name="a", type="number")))
    return AppliedState(source="s", type="file", connector="source-file", connector_version="1", config_fingerprint="x", streams=(stream,), **extra)  # type: ignore[arg-type]


def test_state_render_is_stable_and_write_is_idempotent(tmp_path: Path) -> None:
    state = _state()
    text = render_state(state)
    assert text == render_state(AppliedState.model_validate_json(text))
    assert write_state(tmp_path, state, root=tmp_path) is True
    mtime = (tmp_path / "s.json").stat().st_mtime_ns
    assert write_state(tmp_path, state, root=tmp_path) is False
    assert (tmp_path / "s.json").stat().st_mtime_ns == mtime
    assert read_state(tmp_path, "s") == state
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"], "no temp file left behind"


def test_profile_counts_nulls_and_violations() -> None:
    stream = Stream(
        name="s",
        columns=(
            Column(name="id", type="number", json_schema={"type": ["null", "number"]}),
            Column(name="email", type="string", json_schema={"type": ["null", "string"]}),
        ),
    )
    records = [{"id": 1, "email": "a@x"}, {"id": "oops", "email": None}, {"id": 3}]
    profile = profile_records(stream, records)
    assert profile.records == 3 and profile.violations == 1
    assert [(c.name, c.null_rate, c.violations) for c in profile.columns] == [("email", 0.6667, 0), ("id", 0.0, 1)]
    assert profile.completeness == round(4 / 6, 4)
    hidden = sensitive_columns(stream)
    assert hidden == {"email"}
    assert mask_record(records[0], hidden) == {"id": 1, "email": "****"}
    assert mask_record({"ID": 1, "Email": "a@x"}, frozenset({"email"})) == {"ID": 1, "Email": "****"}  # any case
