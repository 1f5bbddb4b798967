"""What users read stays complete: every key they can type has a description (editors show it on hover), and
the README's table of diagnostic codes lists every code in `CODES`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bmad_gitops.diagnostics import CODES

REPO = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO / "schemas" / "source.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def typed_properties(node: Any, pointer: str = "#") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(JSON pointer, key name, subschema) of every key a user can type, anywhere in the schema, `$defs` included."""
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict):
                yield f"{pointer}/properties/{name}", name, sub
        for key, value in node.items():
            yield from typed_properties(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from typed_properties(item, f"{pointer}/{index}")


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return resolve(SCHEMA["$defs"][ref.removeprefix("#/$defs/")])
    return schema


def is_described(name: str, schema: dict[str, Any]) -> bool:
    if schema.get("description") or resolve(schema).get("description"):
        return True
    # Each branch pins `type` to one const; the key itself is described once, at the top level.
    return name == "type" and "const" in schema and bool(SCHEMA["properties"]["type"].get("description"))


# Only the keys inside `if` conditions are not typed by anyone: they select a branch.
PROPERTIES = [(p, n, s) for p, n, s in typed_properties(SCHEMA) if "/if/" not in p]


def test_schema_has_properties_to_check() -> None:
    names = {name for _, name, _ in PROPERTIES}
    assert {"type", "connector", "config", "url", "password", "aws_secret_access_key", "streams"} <= names


# Gaps found when this test was written; each entry is an expected failure until the schema describes the key.
UNDESCRIBED: set[str] = set()  # keys allowed to lack a description (none today)
GAP = pytest.mark.xfail(strict=True, reason="source.schema.json: this key has no description")


@pytest.mark.parametrize(
    ("name", "schema"),
    [pytest.param(n, s, id=p, marks=[GAP] if p in UNDESCRIBED else []) for p, n, s in PROPERTIES],
)
def test_every_typed_property_has_a_description(name: str, schema: dict[str, Any]) -> None:
    assert is_described(name, schema), f"add a description to '{name}' in {SCHEMA_PATH.name}"


def readme_codes_section() -> str | None:
    """The body of README.md's "Diagnostic codes" section, or None when README has no such section yet."""
    readme = REPO / "README.md"
    if not readme.is_file():
        return None
    text = readme.read_text(encoding="utf-8")
    heading = re.search(r"^(#+)[ \t]+Diagnostic codes[ \t]*$", text, re.MULTILINE | re.IGNORECASE)
    if heading is None:
        return None
    level = len(heading.group(1))
    rest = text[heading.end() :]
    following = re.search(rf"^#{{1,{level}}}[ \t]", rest, re.MULTILINE)
    return rest[: following.start()] if following else rest


def test_readme_lists_every_diagnostic_code() -> None:
    section = readme_codes_section()
    if section is None:
        pytest.skip('README.md has no "Diagnostic codes" section yet')
    rows = dict(re.findall(r"^\|\s*`?(BG\d{3})`?\s*\|\s*(\w+)\s*\|", section, re.MULTILINE))
    assert sorted(set(CODES) - set(rows)) == [], "codes missing from README's table"
    assert sorted(set(rows) - set(CODES)) == [], "README lists codes that CODES does not have"
    assert {code: rows[code] for code in CODES} == {code: severity for code, (severity, _) in CODES.items()}
