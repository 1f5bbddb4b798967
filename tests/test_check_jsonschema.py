"""The published schema works with the real check-jsonschema CLI, offline: editors and CI can use it without us."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "schemas" / "source.schema.json"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"

pytestmark = pytest.mark.skipif(not CHECK_JSONSCHEMA.exists(), reason="check-jsonschema is not installed in this venv")

VALID_FILE = """\
type: file
connector: source-file
format: csv
config:
  dataset_name: customers
  format: csv
  url: data/customers.csv
  provider:
    storage: local
"""


def check_jsonschema(*files: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run check-jsonschema with every proxy pointing at a closed port, so any download attempt fails loudly."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    dead = "http://127.0.0.1:9"
    env.update(HTTP_PROXY=dead, HTTPS_PROXY=dead, http_proxy=dead, https_proxy=dead, NO_PROXY="", no_proxy="")
    env["XDG_CACHE_HOME"] = str(cwd / ".cache")  # empty cache: nothing downloaded earlier can help
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--schemafile", str(SCHEMA), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_repository_sources_pass(tmp_path: Path) -> None:
    sources = sorted((REPO / "sources").glob("*.yaml"))
    assert sources
    result = check_jsonschema(*sources, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_minimal_definition_passes(tmp_path: Path) -> None:
    path = tmp_path / "customers.yaml"
    path.write_text(VALID_FILE, encoding="utf-8")
    result = check_jsonschema(path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        pytest.param(*case, id=case[0])
        for case in [
            ("unknown_key", VALID_FILE + "desciption: typo\n", "desciption"),
            ("missing_config", "type: file\nconnector: source-file\nformat: csv\n", "config"),
            ("bad_enum", VALID_FILE + "on_drift: sometimes\n", "sometimes"),
            ("tags_not_a_list", VALID_FILE + "tags: crm\n", "'crm' is not of type 'array'"),
            (
                "port_as_string",
                "type: database\nconnector: source-mysql\nconfig:\n  host: h\n  port: '3306'\n"
                "  database: d\n  username: u\n",
                "3306",
            ),
            ("top_level_list", "- type: file\n", "object"),
        ]
    ],
)
def test_invalid_definitions_fail(tmp_path: Path, name: str, content: str, needle: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(content, encoding="utf-8")
    result = check_jsonschema(path, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Schema validation errors" in result.stdout + result.stderr
    assert needle in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


BROKEN_EXAMPLES = sorted((REPO / "examples" / "broken").glob("*.y*ml"))


@pytest.mark.parametrize("path", BROKEN_EXAMPLES, ids=[p.name for p in BROKEN_EXAMPLES])
def test_broken_examples_fail(tmp_path: Path, path: Path) -> None:
    result = check_jsonschema(path, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Schema validation errors" in result.stdout
