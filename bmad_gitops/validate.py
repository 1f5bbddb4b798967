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


def validate_files(
    project: Project, paths: Sequence[Path] = (), stories: StoryIndex | None = None, keep: dict[Path, Document] | None = None
) -> list[Diagnostic]:
    """Check `paths` (all of sources/ when empty) plus the rules that span files. `keep`, when given, receives
    the documents parsed in this process, so a caller that needs them does not parse them again."""
    every, unreadable = project.walk_definitions()
    targets = sorted({Path(os.path.abspath(p)) for p in paths}) if paths else every
    if stories is None:
        stories = find_stories(project.root, project.stories_dir)
    diagnostics = _check_all(project, targets, stories, keep)
    diagnostics.extend(
        Diagnostic(project.display(folder), 1, 1, "BG011", f"folder cannot be read: {reason}", "check its permissions")
        for folder, reason in unreadable
    )
    named = {p: project.display(p) for p in (every if not paths else [*every, *targets])}
    diagnostics.extend(duplicate_names(sorted(named.items(), key=lambda item: item[1])))
    diagnostics.extend(citation_diagnostics(stories, {source_name(p) for p in named}, project.root))
    return sorted(set(diagnostics))


# Below this many files a second process costs more than it saves.
_PARALLEL_FROM = 200


def _check_all(project: Project, targets: Sequence[Path], stories: StoryIndex, keep: dict[Path, Document] | None) -> list[Diagnostic]:
    """Check each file; a large set is shared with forked children, one per extra core.

    A bare fork and a pipe, not multiprocessing: a pre-commit run should not pay for importing and starting a
    pool. The children inherit everything already imported and loaded; a child that fails costs nothing but
    time, because the parent then checks that share itself.
    """
    workers = min(os.cpu_count() or 1, 4)
    if len(targets) < _PARALLEL_FROM or workers < 2 or not hasattr(os, "fork"):
        return _check_share(project, targets, stories, keep)
    from .checks.connector_spec import warm_spec_validators
    from .checks.schema import warm_schema_validator
    from .checks.secrets import spec_secret_names

    warm_schema_validator()
    warm_spec_validators()
    spec_secret_names()
    shares = [list(targets[i::workers]) for i in range(workers)]
    children = [_fork_share(project, share, stories) for share in shares[1:]]
    found = _check_share(project, shares[0], stories, keep)  # children's documents stay in the children
    for share, child in zip(shares[1:], children, strict=True):
        result = _collect(child)
        found.extend(result if result is not None else _check_share(project, share, stories))
    return found


def _check_share(project: Project, paths: Sequence[Path], stories: StoryIndex, keep: dict[Path, Document] | None = None) -> list[Diagnostic]:
    return [d for path in paths for d in check_file(project, path, stories, keep)]


def _fork_share(project: Project, paths: Sequence[Path], stories: StoryIndex) -> tuple[int, int] | None:
    import pickle

    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the child: check, send the pickled diagnostics, and leave without running any exit handler
        status = 0
        try:
            os.close(read_end)
            payload = pickle.dumps(_check_share(project, paths, stories))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
        except BaseException:
            status = 1
        os._exit(status)
    os.close(write_end)
    return pid, read_end


def _collect(child: tuple[int, int] | None) -> list[Diagnostic] | None:
    import pickle

    if child is None:
        return None
    pid, read_end = child
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        return None
    result: list[Diagnostic] = pickle.loads(payload)
    return result


def check_file(project: Project, path: Path, stories: StoryIndex, keep: dict[Path, Document] | None = None) -> list[Diagnostic]:
    display = project.display(path)
    refused = _not_a_definition_file(project, path, display)
    if refused is not None:
        return [refused]
    loaded = read_document(path, display)
    if not isinstance(loaded, Document):
        return loaded
    if keep is not None:
        keep[path] = loaded
    return [*loaded.warnings, *(locate(loaded, f) for f in definition_findings(loaded, path, project.root, stories))]


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


def _not_a_definition_file(project: Project, path: Path, display: str) -> Diagnostic | None:
    """FIFOs, devices, sockets and folders are never opened (a FIFO would hang the hook); a symlink that leaves
    the project is reported without reading it, so its contents are never echoed."""
    import stat

    from .atomic import inside

    if path.is_symlink() and not inside(path, project.root):
        return Diagnostic(
            display,
            1,
            1,
            "BG401",
            "definition is a symlink to a file outside the project root",
            "replace the link with the definition itself",
        )
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return Diagnostic(display, 1, 1, "BG011", "file does not exist", "check the path")
    except OSError as exc:
        return Diagnostic(display, 1, 1, "BG011", f"cannot read file: {exc.strerror or exc}", "check its permissions")
    if stat.S_ISDIR(mode):
        return Diagnostic(display, 1, 1, "BG011", "is a folder, not a definition file", "rename the folder")
    if not stat.S_ISREG(mode):
        kind = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device"
        return Diagnostic(display, 1, 1, "BG011", f"is a {kind}, not a file", "definitions are regular YAML files")
    return None
