"""Valid definitions, ready for the live engine: validate first, then keep each file's values and positions."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checks.names import source_name
from .diagnostics import Diagnostic
from .lineage.stories import StoryIndex
from .load import Document, position, read_document
from .project import Project
from .validate import validate_files


@dataclass(frozen=True)
class Definition:
    name: str
    display: str
    doc: Document
    sha: str

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.doc.data
        return data

    @property
    def on_drift(self) -> str:
        return str(self.data.get("on_drift", "warn"))

    @property
    def stories(self) -> tuple[str, ...]:
        return tuple(sorted(self.data.get("stories", []) or []))

    def position(self, where: tuple[str | int, ...], at: str = "value") -> tuple[int, int]:
        return position(self.doc, where, at)


def load_definitions(
    project: Project, paths: Sequence[Path] = (), stories: StoryIndex | None = None
) -> tuple[list[Definition], list[Diagnostic]]:
    """Definitions that pass validate, and every diagnostic validate reports (errors block their file)."""
    files = [p.resolve() for p in paths] if paths else [p.resolve() for p in project.definition_files()]
    parsed: dict[Path, Document] = {}
    diagnostics = validate_files(project, files, stories, keep=parsed)
    broken = {d.path for d in diagnostics if d.severity == "error"}
    definitions = []
    for path in files:
        display = project.display(path)
        if display in broken:
            continue
        doc = parsed.get(path) or read_document(path, display)  # parsed once, by validate, unless in a child
        if isinstance(doc, Document):
            sha = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
            definitions.append(Definition(source_name(path), display, doc, sha))
    return sorted(definitions, key=lambda d: d.name), diagnostics
