"""Rebuild what apply publishes from the applied state: lineage docs, and (on request) the stories' source blocks.

Used by `apply` after it writes state and by `bmad-gitops lineage`, which touches no source at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write_bytes
from ..definitions import Definition
from ..errors import ProjectError
from ..project import Project
from ..state import read_all_states
from .docs import write_lineage
from .stories import StoryIndex, find_stories, update_story_block


@dataclass(frozen=True)
class LineageResult:
    docs: tuple[Path, ...]
    stories: tuple[Path, ...]
    warnings: tuple[str, ...] = ()


def refresh_lineage(
    project: Project, definitions: list[Definition], index: StoryIndex | None = None, *, update_stories: bool = False
) -> LineageResult:
    # Temp files of writes that were killed (the caller holds the apply lock, so none is in use).
    for leftover in (*project.lineage_dir.glob(".*.md.*.tmp"), *_story_leftovers(project)):
        leftover.unlink(missing_ok=True)
    states = list(read_all_states(project.state_dir).good.values())
    if index is None:
        index = find_stories(project.root, project.stories_dir)
    docs = write_lineage(
        states,
        index,
        project.lineage_dir,
        project.root,
        {d.name: d.data for d in definitions},
        {d.name: project.root / d.display for d in definitions},
    )
    warnings: list[str] = []
    touched = (
        _update_stories(project, index, {s.source: s.stories for s in states}, warnings) if update_stories else []
    )
    return LineageResult(tuple(docs), tuple(touched), tuple(warnings))


def _story_leftovers(project: Project) -> list[Path]:
    folder = project.stories_dir or project.root / "docs" / "stories"
    return list(folder.glob(".*.md.*.tmp")) if folder.is_dir() else []


def _update_stories(
    project: Project, index: StoryIndex, declared: dict[str, tuple[str, ...]], warnings: list[str]
) -> list[Path]:
    """Keep each linked story's marked block listing its sources; every other byte stays as it was."""
    by_story: dict[Path, set[str]] = {}
    for source, ids in declared.items():
        for story_id in ids:
            for story in index.by_id(story_id):
                by_story.setdefault(story.path, set()).add(source)
    for source, citations in index.cited_sources().items():
        if source in declared:
            for citation in citations:
                by_story.setdefault(citation.path, set()).add(source)
    touched = []
    for path, sources in sorted(by_story.items()):
        links = [
            (name, Path(os.path.relpath(project.lineage_dir / f"{name}.md", path.parent)).as_posix())
            for name in sorted(sources)
        ]
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="surrogateescape")
        updated = update_story_block(text, links)
        if updated != text:
            try:
                atomic_write_bytes(path, updated.encode("utf-8", errors="surrogateescape"), root=project.root)
            except ProjectError:  # a symlinked story, or one whose folder leaves the root: never followed
                warnings.append(f"{project.display(path)}: not updated, it is a symlink or lies outside the project")
                continue
            touched.append(path)
    return touched
