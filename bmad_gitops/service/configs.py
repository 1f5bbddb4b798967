"""GitOps writes of `sources/<name>.yaml`: checked in memory with validate's own checks before anything
touches a disk, written through writer.py (comments kept on update) under a lock, or committed on the branch
`bmad-gitops/<name>` without touching the working tree.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checks.names import NAME
from ..errors import BmadGitopsError, ConfigError, ProjectError, UsageError
from ..project import Project
from .adhoc import DefinitionInvalid, check_definition, check_text, diagnostic_json, refuse_private_paths
from .memo import RACY_NS, Inputs
from .settings import service_dir


class ConfigNotFound(ConfigError):
    pass


class ConfigConflict(UsageError):
    pass


@dataclass(frozen=True)
class Saved:
    name: str
    path: str
    created: bool
    branch: str | None = None
    commit: str | None = None


def definition_path(project: Project, name: str) -> Path:
    if not NAME.match(name):
        raise ConfigError(f"'{name[:60]}' is not a valid source name", "use lower snake_case, such as orders_db")
    return project.sources_dir / f"{name}.yaml"


_SUMMARIES: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}


def list_configs(project: Project) -> list[dict[str, Any]]:
    """Name, path, type, connector and description of each definition; a file is parsed again only when its
    inode, size or mtime changed (a listing of 50 sources would otherwise parse 50 files per request)."""
    return [_summary(project, path) for path in project.definition_files()]


def listing_inputs(project: Project) -> Inputs:
    """What `list_configs` depends on, stamped before it reads: every folder of definitions and every file."""
    return Inputs.of([*definition_folders(project), *(str(p) for p in project.definition_files())])


def definition_folders(project: Project) -> list[str]:
    """sources/ and every folder in it (a folder's mtime moves on add, remove, rename). sources/ itself comes first
    and always: while it does not exist os.walk names nothing, and its appearing must count as a change."""
    import os

    return [str(project.sources_dir), *sorted(folder for folder, _dirs, _files in os.walk(project.sources_dir))]


def _summary(project: Project, path: Path) -> dict[str, Any]:
    from ..checks.names import source_name
    from ..load import Document, read_document

    try:
        info = path.stat()
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
    except OSError:
        stamp = (0, 0, 0)
    known = _SUMMARIES.get(path)
    if known is not None and known[0] == stamp and stamp != (0, 0, 0):
        return dict(known[1])
    loaded = read_document(path, project.display(path))
    data = loaded.data if isinstance(loaded, Document) and isinstance(loaded.data, dict) else {}
    summary = {
        "name": source_name(path),
        "path": project.display(path),
        "type": _text(data.get("type")),
        "connector": _text(data.get("connector")),
        "description": _text(data.get("description")),
        "readable": isinstance(loaded, Document),
    }
    if time.time_ns() - stamp[2] > RACY_NS:  # a stamp from the last clock tick may not show the next write
        _SUMMARIES[path] = (stamp, summary)
    return dict(summary)


def _text(value: object) -> str | None:
    """A summary field as text whatever the file holds (validate reports a wrong type; the listing still lists)."""
    return None if value is None else value if isinstance(value, str) else str(value)


def read_config(project: Project, name: str) -> dict[str, Any]:
    """The definition as written: `${VAR}` references stay references."""
    from ..load import Document, read_document

    path = _existing(project, name)
    if path is None:
        raise ConfigNotFound(f"no source named '{name}'", "see GET /api/v1/data-sources/config")
    loaded = read_document(path, project.display(path))
    if not isinstance(loaded, Document):
        raise DefinitionInvalid(f"{project.display(path)} cannot be read", "run `bmad-gitops validate`", list(loaded))
    return {"name": name, "path": project.display(path), "configuration": loaded.data}


def _existing(project: Project, name: str) -> Path | None:
    definition_path(project, name)
    found = [project.sources_dir / f"{name}{suffix}" for suffix in (".yaml", ".yml")]
    return next((p for p in found if p.is_file()), None)


@contextlib.contextmanager
def _locked(project: Project) -> Iterator[None]:
    from filelock import FileLock

    from ..atomic import inside

    folder = service_dir(project.root)
    folder.mkdir(parents=True, exist_ok=True)
    if not inside(folder, project.root):  # checked at every write: a link planted after start-up is refused too
        raise ProjectError(f"{folder} lies outside the project root {project.root}", "remove the link")
    with FileLock(str(folder / "configs.lock"), timeout=30):
        yield


def save_config(project: Project, name: str, configuration: Mapping[str, Any], *, git_branch: bool) -> Saved:
    path = definition_path(project, name)
    data = dict(configuration)
    display = project.display(path)
    # In memory first: a plaintext secret or any other error is refused before a byte is written anywhere.
    _raise_if_invalid(check_definition(project, data, display, name), display)
    refuse_private_paths(project, data)
    with _locked(project):
        other = project.sources_dir / f"{name}.yml"
        if other.is_file():
            raise ConfigConflict(f"{project.display(other)} already defines '{name}'", "edit or delete that file instead")
        base = _base_text(project, path, name, git_branch)
        text = _merged_text(project, base, data) if base is not None else _new_text(project, data)
        _raise_if_invalid(check_text(project, text, display, name), display)
        if git_branch:
            from ..gitinfo import commit_file_on_branch

            branch = f"bmad-gitops/{name}"
            verb = "Update" if base is not None else "Add"
            commit = commit_file_on_branch(project.root, branch, path, text.encode("utf-8"), f"{verb} source {name}")
            return Saved(name, display, base is None, branch, commit)
        from ..atomic import atomic_write_text

        atomic_write_text(path, text, root=project.root)
    return Saved(name, display, base is None)


def delete_config(project: Project, name: str, *, git_branch: bool) -> Saved:
    path = definition_path(project, name)
    with _locked(project):
        if git_branch:
            from ..gitinfo import commit_file_on_branch

            if _base_text(project, path, name, git_branch=True) is None:
                raise ConfigNotFound(f"no source named '{name}'", "see GET /api/v1/data-sources/config")
            branch = f"bmad-gitops/{name}"
            commit = commit_file_on_branch(project.root, branch, path, None, f"Remove source {name}")
            return Saved(name, project.display(path), False, branch, commit)
        found = _existing(project, name)
        if found is None:
            raise ConfigNotFound(f"no source named '{name}'", "see GET /api/v1/data-sources/config")
        found.unlink()
        return Saved(name, project.display(found), False)


def _base_text(project: Project, path: Path, name: str, git_branch: bool) -> str | None:
    if git_branch:
        from ..gitinfo import file_on_branch

        on_branch = file_on_branch(project.root, f"bmad-gitops/{name}", path)
        if on_branch is not None:
            return on_branch.decode("utf-8", "replace")
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _new_text(project: Project, data: Mapping[str, Any]) -> str:
    from ..scaffold import schema_reference
    from ..writer import render_yaml

    return render_yaml(data, header_comment=f"yaml-language-server: $schema={schema_reference(project)}")


def _merged_text(project: Project, base: str, data: Mapping[str, Any]) -> str:
    """The existing text updated to `data` by writer.update_yaml, on a scratch copy in the git-ignored service
    folder: keys, comments and quoting that did not change come back as they were."""
    from ..atomic import atomic_write_text
    from ..writer import update_yaml

    scratch = service_dir(project.root) / "pending" / f"{secrets.token_hex(8)}.yaml"
    atomic_write_text(scratch, base, root=project.root)
    try:
        update_yaml(project.root, scratch, lambda document: _merge(document, data))
        return scratch.read_text(encoding="utf-8")
    finally:
        scratch.unlink(missing_ok=True)


def _merge(target: Any, new: Mapping[str, Any]) -> None:
    from ruamel.yaml.comments import CommentedMap

    from ..writer import _commented

    for key in [k for k in target if k not in new]:
        del target[key]
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), CommentedMap):
            _merge(target[key], value)
        elif key not in target or _plain(target[key]) != value:
            target[key] = _commented(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _raise_if_invalid(diagnostics: list[Any], display: str) -> None:
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        first = errors[0]
        raise DefinitionInvalid(f"{display}:{first.line}:{first.col}: {first.message}", first.hint, errors)


__all__ = ["BmadGitopsError", "Saved", "delete_config", "diagnostic_json", "list_configs", "read_config", "save_config"]
