"""Write one schema per source type from schemas/source.schema.json, the single hand-edited schema.

Run with `make schemas` after editing source.schema.json; tests fail while the per-type files are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent.parent / "bmad_gitops" / "schemas"
TYPES = ("file", "database", "api", "s3")


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            found.add(ref.removeprefix("#/$defs/"))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= _refs(item)
    return found


def type_schema(top: dict[str, Any], kind: str) -> dict[str, Any]:
    defs = top["$defs"]
    body = dict(defs[kind])
    needed: set[str] = set()
    pending = _refs(body)
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending |= _refs(defs[name])
    base = top["$id"].rsplit("/", 1)[0]
    return {
        "$schema": top["$schema"],
        "$id": f"{base}/{kind}.schema.json",
        "title": f"bmad-gitops {kind} source",
        **body,
        "$defs": {name: defs[name] for name in sorted(needed)},
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2) + "\n"


def expected_files() -> dict[Path, str]:
    top = json.loads((SCHEMAS / "source.schema.json").read_text(encoding="utf-8"))
    return {SCHEMAS / f"{kind}.schema.json": render(type_schema(top, kind)) for kind in TYPES}


def main() -> int:
    for path, text in expected_files().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(SCHEMAS.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
