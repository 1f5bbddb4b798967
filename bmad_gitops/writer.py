"""The one module that writes YAML for users: ruamel.yaml round-trip, comments kept, atomic, inside the project.

Writes go through atomic.py (temp file in the same folder, fsync, rename, permissions kept). Paths are resolved
first, symlinks included, and refused when they land outside the project root; a symlink inside the project is
followed, so the file it points to is updated and the link stays.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import atomic_write_text
from .errors import BmadGitopsError

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

WIDTH = 120


class WriteError(BmadGitopsError):
    """A YAML file cannot be written where it was asked for; the message says why and what to do."""


def _yaml() -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = WIDTH
    yaml.preserve_quotes = True
    return yaml


def safe_target(root: Path, path: Path) -> Path:
    """`path` (relative to `root`, or absolute) resolved through symlinks; WriteError when it leaves `root`."""
    base = root.resolve()
    target = (path if path.is_absolute() else root / path).resolve()
    if target != base and base not in target.parents:
        raise WriteError(f"refusing to write {path}: it resolves outside the project root {base}", "write inside it")
    if target.is_dir():
        raise WriteError(f"refusing to write {path}: it is a folder", "give a file name")
    return target


def _commented(value: Any) -> Any:
    """Plain dicts and lists -> ruamel's commented types, so the dump is block style and keeps key order."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, Mapping):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = _commented(item)
        return out
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        seq = CommentedSeq(_commented(item) for item in value)
        if all(isinstance(item, str | int | float | bool) for item in value) and len(value) <= 8:
            seq.fa.set_flow_style()  # short scalar lists read best inline: primary_key: [id]
        return seq
    return value


def render_yaml(data: Mapping[str, Any], *, header_comment: str | None = None) -> str:
    """The text write_definition_yaml writes. Same data, same bytes."""
    buffer = io.StringIO()
    _yaml().dump(_commented(data), buffer)
    header = "".join(f"# {line}".rstrip() + "\n" for line in header_comment.splitlines()) if header_comment else ""
    return header + buffer.getvalue()


def write_definition_yaml(
    root: Path, path: Path, data: Mapping[str, Any], *, header_comment: str | None = None, force: bool = False
) -> Path:
    """Write `data` as a new YAML file; an existing file is only replaced with `force`. Returns the path written."""
    target = safe_target(root, path)
    if target.exists() and not force:
        raise WriteError(f"{path} already exists", "pass --force to overwrite it")
    atomic_write_text(target, render_yaml(data, header_comment=header_comment), root=root)
    return target


def update_yaml(root: Path, path: Path, mutate: Callable[[CommentedMap], None]) -> Path:
    """Load an existing YAML mapping round-trip, let `mutate` change it in place, and write it back atomically.

    Comments, key order, quoting and blank lines that `mutate` does not touch come back as they were.
    """
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    target = safe_target(root, path)
    if not target.is_file():
        raise WriteError(f"{path} does not exist", "create it first")
    yaml = _yaml()
    try:
        document = yaml.load(target.read_text(encoding="utf-8"))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise WriteError(f"{path} is not valid YAML{where}", "fix it by hand first") from None
    if not isinstance(document, CommentedMap):
        raise WriteError(f"{path} does not hold a mapping at the top", "fix it by hand first")
    mutate(document)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    atomic_write_text(target, buffer.getvalue(), root=root)
    return target
