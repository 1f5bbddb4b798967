"""`init` and `new`: write the files a new repository or a new source starts from. Never overwrites silently."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from .checks.names import NAME
from .checks.schema import SCHEMA_FILE, load_schema
from .packaged import packaged
from .project import Project

KIND_TEMPLATES = ("csv", "json", "excel", "postgres", "mysql", "api", "s3")
README_MARK = "<!-- bmad-gitops -->"


class ScaffoldError(Exception):
    """The definition cannot be written; the message says why and what to do."""


def _template(name: str) -> str:
    return packaged("templates", name).read_text(encoding="utf-8")


def write_definition(project: Project, kind: str, name: str, *, force: bool = False) -> Path:
    if not NAME.match(name):
        raise ScaffoldError(
            f"'{name}' is not a valid source name: use lower snake_case, such as {name.lower().replace('-', '_')}"
        )
    if kind not in KIND_TEMPLATES:
        raise ScaffoldError(f"unknown kind '{kind}': choose one of {', '.join(KIND_TEMPLATES)}")
    target = project.sources_dir / f"{name}.yaml"
    if target.exists() and not force:
        raise ScaffoldError(f"{project.display(target)} already exists; pass --force to overwrite it")
    schema = project.root / "schemas" / SCHEMA_FILE
    if schema.is_file():
        ref = Path(os.path.relpath(schema, project.sources_dir)).as_posix()
    else:
        ref = str(load_schema()["$id"])
    text = _template(f"{kind}.yaml").replace("{schema}", ref).replace("{name}", name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return Path(project.display(target))


def init_repository(directory: Path) -> Iterator[str]:
    """Create what is missing and say what was kept; running it twice changes nothing."""
    root = directory.resolve()
    files = {
        "sources/.gitkeep": "",
        "schemas/" + SCHEMA_FILE: packaged("schemas", SCHEMA_FILE).read_text(encoding="utf-8"),
        ".pre-commit-config.yaml": _template("init/pre-commit-config.yaml"),
        ".github/workflows/bmad-gitops.yml": _template("init/workflow.yml"),
        ".gitignore": ".env\n.bmad-gitops/\n",
    }
    for relative, content in files.items():
        target = root / relative
        if target.exists():
            yield f"kept    {relative} (already there)"
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        yield f"created {relative}"
    readme = root / "README.md"
    existing = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if README_MARK in existing:
        yield "kept    README.md (already has the bmad-gitops section)"
    else:
        separator = "\n" if existing and not existing.endswith("\n\n") else ""
        readme.write_text(existing + separator + _template("init/README-snippet.md"), encoding="utf-8")
        yield ("updated" if existing else "created") + " README.md (bmad-gitops section)"
    yield "next: `bmad-gitops new csv my_source`, then `pre-commit install`"
