"""Links between definitions and BMad stories, checked offline: ids that exist, and citations of real sources."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, Finding
from ..lineage.stories import StoryIndex
from .placeholders import is_placeholder


def story_findings(data: dict[str, Any], index: StoryIndex, root: Path) -> list[Finding]:
    found = []
    listed = data.get("stories")
    if not isinstance(listed, list):  # a wrong type is the schema's to report
        return []
    for position, story_id in enumerate(listed):
        if not isinstance(story_id, str) or is_placeholder(story_id):
            continue
        matches = index.by_id(story_id)
        if not matches:
            where = (
                "no BMad stories were found"
                if not index.stories
                else f"known ids: {_sample(s.id for s in index.stories)}"
            )
            found.append(Finding("BG500", ("stories", position), f"story {story_id} does not exist", where))
        elif len({m.path for m in matches}) > 1:
            files = ", ".join(sorted(_display(m.path, root) for m in matches))
            found.append(
                Finding(
                    "BG501",
                    ("stories", position),
                    f"story {story_id} matches more than one file: {files}",
                    "keep one file per story id",
                )
            )
    return found


def citation_diagnostics(index: StoryIndex, known_sources: set[str], root: Path) -> list[Diagnostic]:
    found = []
    for source, citations in index.cited_sources().items():
        if source in known_sources:
            continue
        for c in citations:
            found.append(
                Diagnostic(
                    _display(c.path, root),
                    c.line,
                    c.col,
                    "BG502",
                    f"story {c.story_id} cites unknown source '{source}'",
                    "fix the name or add sources/" + source + ".yaml",
                )
            )
    return found


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _sample(ids: Iterable[str]) -> str:
    unique = sorted(set(ids))
    return ", ".join(unique[:8]) + (", ..." if len(unique) > 8 else "")
