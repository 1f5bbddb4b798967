"""The project: its root, its optional `bmad-gitops.yaml`, and which definition files it holds."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "bmad-gitops.yaml"
DEFINITION_SUFFIXES = (".yaml", ".yml")


class ProjectConfigError(Exception):
    """bmad-gitops.yaml is unreadable or wrong; the message names the file and the fix."""


@dataclass(frozen=True)
class Project:
    root: Path
    sources_dir: Path
    state_dir: Path
    lineage_dir: Path
    stories_dir: Path | None

    def display(self, path: Path) -> str:
        """A path as the user should see it: relative to the root when inside it."""
        try:
            return path.relative_to(self.root).as_posix()  # the common case, with no file-system call
        except ValueError:
            pass
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def definition_files(self) -> list[Path]:
        """Every definition under sources/, sorted; os.walk's entries need no stat call per file."""
        found: list[Path] = []
        for folder, _dirs, names in os.walk(self.sources_dir):
            found.extend(Path(folder, n) for n in names if n.endswith(DEFINITION_SUFFIXES))
        return sorted(found)


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` with bmad-gitops.yaml or .git; `start` itself otherwise."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / ".git").exists():
            return folder
    return start


def load_project(start: Path | None = None) -> Project:
    root = find_root(start or Path.cwd())
    settings = _read_settings(root / CONFIG_FILE)
    stories = settings.get("stories")
    return Project(
        root=root,
        sources_dir=root / str(settings.get("sources", "sources")),
        state_dir=root / str(settings.get("state", "state")),
        lineage_dir=root / str(settings.get("lineage", "docs/lineage")),
        stories_dir=root / str(stories) if stories else None,
    )


def _read_settings(path: Path) -> dict[str, Any]:
    """Settings from bmad-gitops.yaml, checked against schemas/project.schema.json."""
    from .checks.schema import schema_findings
    from .load import Document, locate, read_document

    if not path.is_file():
        return {}
    loaded = read_document(path, path.name)
    if not isinstance(loaded, Document):
        if loaded[0].code == "BG004":
            return {}
        first = loaded[0]
        raise ProjectConfigError(f"{first.path}:{first.line}:{first.col}: {first.message}; {first.hint}")
    findings = schema_findings(loaded.data, "project.schema.json")
    if findings:
        first = locate(loaded, findings[0])
        raise ProjectConfigError(f"{first.path}:{first.line}:{first.col}: {first.message}; {first.hint}")
    return dict(loaded.data)
