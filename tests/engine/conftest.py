"""A fake backend in the one registry: planner and applier tests that need no PyAirbyte and no network.

The fake reads its "upstream" from the data file a definition names: a JSON document
`{"stream": {"columns": {"name": "type"}, "primary_key": [...], "records": [...]}}`, so a test changes the
upstream by rewriting that file (which also moves the discovery cache key, as a real file would).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from bmad_gitops.catalog import Catalog, catalog_from_json_schemas
from bmad_gitops.cli import main
from bmad_gitops.connectors.pyairbyte.source_file import file_config, file_local_paths, file_localize
from bmad_gitops.connectors.registry import ConnectorEntry, registered
from bmad_gitops.errors import ConnectorError

_JSON_TYPES = {
    "integer": {"type": ["null", "number"], "airbyte_type": "integer"},
    "number": {"type": ["null", "number"]},
    "string": {"type": ["null", "string"]},
    "boolean": {"type": ["null", "boolean"]},
}


class FakeBackend:
    connector = "source-file"
    discovered = 0

    def version(self) -> str:
        return "fake-1"

    def _upstream(self, config: Mapping[str, Any]) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(Path(config["url"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConnectorError(f"fake: cannot read {config['url']}", str(exc)) from None
        return data

    def check(self, config: Mapping[str, Any]) -> None:
        self._upstream(config)

    def discover(self, config: Mapping[str, Any]) -> Catalog:
        FakeBackend.discovered += 1
        upstream = self._upstream(config)
        schemas = {
            name: {"properties": {col: _JSON_TYPES[kind] for col, kind in spec["columns"].items()}}
            for name, spec in upstream.items()
        }
        keys = {name: {"primary_key": spec.get("primary_key", [])} for name, spec in upstream.items()}
        return catalog_from_json_schemas(schemas, keys)

    def read(
        self, config: Mapping[str, Any], stream: str, limit: int, columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self._upstream(config)[stream].get("records", [])
        return records[:limit]


FAKE = ConnectorEntry(
    "source-file",
    "file",
    "fake-1",
    lambda entry: FakeBackend(),
    map_config=file_config,
    local_paths=file_local_paths,
    localize=file_localize,
    installed_version=lambda entry: "fake-1",
)


@pytest.fixture
def fake_backend() -> Iterator[type[FakeBackend]]:
    FakeBackend.discovered = 0
    with registered(FAKE):
        yield FakeBackend


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root

    def upstream(self, name: str, streams: dict[str, Any]) -> None:
        path = self.root / "data" / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(streams, sort_keys=True), encoding="utf-8")

    def define(self, name: str, extra: str = "") -> Path:
        path = self.root / "sources" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "type: file\n"
            "connector: source-file\n"
            "format: csv\n"
            "config:\n"
            f"  dataset_name: {name}\n"
            "  format: csv\n"
            f"  url: data/{name}.csv\n"
            "  provider:\n"
            "    storage: local\n" + extra,
            encoding="utf-8",
        )
        return path

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_backend: type[FakeBackend]) -> Project:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("BMAD_GITOPS_CACHE", str(tmp_path / ".cache"))
    os.environ.pop("OPENLINEAGE_URL", None)
    return Project(tmp_path)


ORDERS = {"orders": {"columns": {"id": "integer", "amount": "number"}, "primary_key": ["id"], "records": [{"id": 1, "amount": 2.5}]}}
