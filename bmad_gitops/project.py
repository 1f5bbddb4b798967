"""The project: its root, its optional `bmad-gitops.yaml`, and which definition files it holds."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ProjectError

CONFIG_FILE = "bmad-gitops.yaml"
DEFINITION_SUFFIXES = (".yaml", ".yml")


class ProjectConfigError(ProjectError):
    """bmad-gitops.yaml is unreadable or wrong; the message names the file and the fix."""


class NotAProjectError(ProjectError):
    """No project here: no sources/, no bmad-gitops.yaml and no .git at or above the folder."""


@dataclass(frozen=True)
class Project:
    root: Path
    sources_dir: Path
    state_dir: Path
    lineage_dir: Path
    stories_dir: Path | None

    def display(self, path: Path) -> str:
        """A path as the user should see it: relative to the root when inside it."""
        text, root = str(path), str(self.root)
        if text.startswith(root) and text[len(root) : len(root) + 1] == os.sep and ".." not in text:
            return text[len(root) + 1 :].replace(os.sep, "/")  # the common case: string work, no pathlib parsing
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            pass
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def definition_files(self) -> list[Path]:
        """Every definition under sources/, sorted; os.walk's entries need no stat call per file."""
        return self.walk_definitions()[0]

    def walk_definitions(self) -> tuple[list[Path], list[tuple[Path, str]]]:
        """Definitions under sources/, and the folders that could not be read (validate fails closed on them)."""
        found: list[Path] = []
        unreadable: list[tuple[Path, str]] = []

        def refused(exc: OSError) -> None:
            if not isinstance(exc, FileNotFoundError) or Path(str(exc.filename)) != self.sources_dir:
                unreadable.append((Path(str(exc.filename)), exc.strerror or str(exc)))

        names_found: list[str] = []
        for folder, _dirs, names in os.walk(self.sources_dir, onerror=refused):
            names_found.extend(os.path.join(folder, n) for n in names if n.endswith(DEFINITION_SUFFIXES))
        names_found.sort(key=lambda text: text.split(os.sep))  # Path order (by parts), without 1,000 Path compares
        found.extend(map(Path, names_found))
        return found, sorted(unreadable)


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` with bmad-gitops.yaml or .git; `start` itself otherwise."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / ".git").exists():
            return folder
    return start


def load_project(start: Path | None = None, *, require: bool = False) -> Project:
    """The project at or above `start`. With `require`, a folder that is no project at all is an error."""
    root = find_root(start or Path.cwd())
    settings = _read_settings(root / CONFIG_FILE)
    if require and not (
        (root / CONFIG_FILE).is_file()
        or (root / ".git").exists()
        or (root / str(settings.get("sources", "sources"))).is_dir()
    ):
        raise NotAProjectError(
            f"{root} is not a bmad-gitops project (no sources/, no {CONFIG_FILE}, no .git here or above)",
            "run `bmad-gitops init` to set one up, or run the command inside a project",
        )
    folders = {key: _inside(root, key, str(settings.get(key, default))) for key, default in _FOLDERS.items()}
    stories = settings.get("stories")
    return Project(
        root=root,
        sources_dir=folders["sources"],
        state_dir=folders["state"],
        lineage_dir=folders["lineage"],
        stories_dir=_inside(root, "stories", str(stories)) if stories else None,
    )


_FOLDERS = {"sources": "sources", "state": "state", "lineage": "docs/lineage"}


def _inside(root: Path, key: str, value: str) -> Path:
    """A folder setting, refused when it leaves the project root (after following symlinks)."""
    from .atomic import inside

    folder = root / value
    if not inside(folder, root):
        raise ProjectConfigError(
            f"{CONFIG_FILE}: `{key}: {value}` points outside the project root {root}",
            f"give a folder inside the project, such as {_FOLDERS.get(key, 'docs/stories')}",
        )
    return folder


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
        raise ProjectConfigError(f"{first.path}:{first.line}:{first.col}: {first.message}", first.hint)
    findings = schema_findings(loaded.data, "project.schema.json")
    if findings:
        first = locate(loaded, findings[0])
        raise ProjectConfigError(f"{first.path}:{first.line}:{first.col}: {first.message}", first.hint)
    return dict(loaded.data)
