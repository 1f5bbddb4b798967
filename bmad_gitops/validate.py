"""`validate`: every offline check over a set of definition files, as one sorted list of diagnostics."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .checks.names import duplicate_names, name_findings, source_name
from .checks.paths import path_findings
from .checks.schema import schema_findings
from .checks.stories import citation_diagnostics, story_findings
from .checks.values import value_findings
from .diagnostics import Diagnostic, Finding
from .lineage.stories import StoryIndex, find_stories
from .load import Document, locate, read_document
from .project import Project


def validate_files(project: Project, paths: Sequence[Path] = ()) -> list[Diagnostic]:
    """Check `paths` (all of sources/ when empty) plus the rules that span files."""
    every = project.definition_files()
    targets = sorted({Path(os.path.abspath(p)) for p in paths}) if paths else every
    stories = find_stories(project.root, project.stories_dir)
    diagnostics = _check_all(project, targets, stories)
    named = {p: project.display(p) for p in [*every, *targets]}
    diagnostics.extend(duplicate_names(sorted(named.items(), key=lambda item: item[1])))
    diagnostics.extend(citation_diagnostics(stories, {source_name(p) for p in named}, project.root))
    return sorted(set(diagnostics))


# Below this many files a second process costs more than it saves.
_PARALLEL_FROM = 200


def _check_all(project: Project, targets: Sequence[Path], stories: StoryIndex) -> list[Diagnostic]:
    """Check each file; a large set is split over the machine's cores (forked, so nothing is re-imported)."""
    workers = min(os.cpu_count() or 1, 4)
    if len(targets) < _PARALLEL_FROM or workers < 2:
        return [d for path in targets for d in check_file(project, path, stories)]
    import multiprocessing  # only here: importing it costs a pre-commit hook on one file about 30 ms

    if "fork" not in multiprocessing.get_all_start_methods():
        return [d for path in targets for d in check_file(project, path, stories)]
    chunks = [list(targets[i::workers]) for i in range(workers)]
    context = multiprocessing.get_context("fork")
    # The parent checks the first share itself while the forked children check the rest.
    with context.Pool(workers - 1, initializer=_remember, initargs=(project, stories)) as pool:
        others = pool.map_async(_check_chunk, chunks[1:])
        mine = [d for path in chunks[0] for d in check_file(project, path, stories)]
        return mine + [d for part in others.get() for d in part]


_WORK: tuple[Project, StoryIndex] | None = None


def _remember(project: Project, stories: StoryIndex) -> None:
    global _WORK
    _WORK = (project, stories)


def _check_chunk(paths: list[Path]) -> list[Diagnostic]:
    assert _WORK is not None
    project, stories = _WORK
    return [d for path in paths for d in check_file(project, path, stories)]


def check_file(project: Project, path: Path, stories: StoryIndex) -> list[Diagnostic]:
    display = project.display(path)
    loaded = read_document(path, display)
    if not isinstance(loaded, Document):
        return loaded
    return [locate(loaded, f) for f in definition_findings(loaded, path, project.root, stories)]


def definition_findings(doc: Document, path: Path, root: Path, stories: StoryIndex) -> list[Finding]:
    data = doc.data
    findings = schema_findings(data)
    findings += story_findings(data, stories, root)
    findings += value_findings(data)
    findings += name_findings(path, data)
    findings += path_findings(data, root)
    if not findings:
        from .checks.connector_spec import connector_spec_findings

        findings += connector_spec_findings(data)
    return findings
