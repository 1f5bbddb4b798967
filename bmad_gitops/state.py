"""Applied state on disk: one deterministic JSON file per source, written atomically, guarded by one lock.

State files are meant to be committed, so a pull request shows schema changes. Killing a write at any moment
leaves each file old or new, never half-written: we write a temp file, fsync it, and rename it over the old one.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_write_text
from .errors import StateError, StateLockedError
from .model import STATE_VERSION, AppliedState


def state_path(state_dir: Path, source: str) -> Path:
    return state_dir / f"{source}.json"


def render_state(state: AppliedState) -> str:
    return json.dumps(state.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read_state(state_dir: Path, source: str) -> AppliedState | None:
    path = state_path(state_dir, source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise StateError(
            f"{path}: is not UTF-8 text",
            f"restore it from git (`git checkout -- {path}`) or delete it and run `bmad-gitops apply` to rebuild it",
        ) from None
    except OSError as exc:
        raise StateError(f"{path}: cannot be read ({exc.strerror})", "check its permissions") from None
    try:
        state = AppliedState.model_validate_json(text)
    except ValueError:
        raise StateError(
            f"{path}: is not a valid state file",
            f"restore it from git (`git checkout -- {path}`) or delete it and run `bmad-gitops apply` to rebuild it",
        ) from None
    if state.version != STATE_VERSION:
        raise StateError(
            f"{path}: state version {state.version} is not {STATE_VERSION} (written by another bmad-gitops version)",
            f"restore it from git (`git checkout -- {path}`) or delete it and run `bmad-gitops apply` to rebuild it",
        )
    unknown = sorted({c.type for s in state.streams for c in s.columns if not _known_type(c.type)})
    if unknown:
        raise StateError(
            f"{path}: unknown column type {unknown[0][:40]!r}",
            f"restore it from git (`git checkout -- {path}`) or delete it and run `bmad-gitops apply` to rebuild it",
        )
    if state.source != source:
        raise StateError(
            f"{path}: records source '{state.source}', not '{source}'",
            f"restore it from git (`git checkout -- {path}`) or delete it and run `bmad-gitops apply` to rebuild it",
        )
    return state


@dataclass(frozen=True)
class States:
    """Every readable state, and for each unreadable one the error that blocks just that source."""

    good: dict[str, AppliedState] = field(default_factory=dict)
    broken: dict[str, StateError] = field(default_factory=dict)

    def names(self) -> set[str]:
        return set(self.good) | set(self.broken)


_TYPE_WORDS = frozenset(
    {"string", "integer", "number", "boolean", "date", "date-time", "time", "object", "array", "unknown", "null"}
)


def _known_type(word: str) -> bool:
    """A column type word as `catalog.column_type` makes them (a union is written `number|string`)."""
    return all(part in _TYPE_WORDS for part in word.split("|"))


def read_all_states(state_dir: Path) -> States:
    from .checks.names import NAME

    found = States()
    if not state_dir.is_dir():
        return found
    for path in sorted(state_dir.glob("*.json")):
        if not NAME.match(path.stem):  # never let a file name become a source name (and so a path) unchecked
            continue
        try:
            state = read_state(state_dir, path.stem)
        except StateError as exc:
            found.broken[path.stem] = exc
            continue
        if state is not None:
            found.good[path.stem] = state
    return found


def file_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def write_state(state_dir: Path, state: AppliedState, *, root: Path) -> bool:
    """Write atomically; return False (and touch nothing) when the bytes would not change."""
    path = state_path(state_dir, state.source)
    text = render_state(state)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(path, text, root=root)
    return True


def delete_state(state_dir: Path, source: str) -> None:
    state_path(state_dir, source).unlink(missing_ok=True)


def remove_leftover_temp_files(state_dir: Path) -> list[Path]:
    """Temp files of writes that were killed; only called under the apply lock, so none is in use."""
    leftovers = sorted(state_dir.glob(".*.json.*.tmp")) if state_dir.is_dir() else []
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


@contextmanager
def apply_lock(work_dir: Path) -> Iterator[None]:
    """Exclusive for the whole apply; a second one fails at once, naming the holder."""
    from filelock import FileLock, Timeout

    from .atomic import inside
    from .errors import ProjectError

    root = work_dir.parent
    if not inside(work_dir, root) or (work_dir / "apply.lock.json").is_symlink():
        raise ProjectError(
            f"{work_dir} is a symlink that leaves the project root, or holds one",
            "make .bmad-gitops/ a plain folder inside the project (it is git-ignored)",
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(work_dir / "apply.lock"))
    info = work_dir / "apply.lock.json"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            holder = json.loads(info.read_text(encoding="utf-8"))
            detail = f"pid {holder['pid']} since {holder['since']}"
        except (OSError, ValueError, KeyError):
            detail = "another process"
        raise StateLockedError(f"state is locked by {detail}", "wait for that apply to finish") from None
    try:
        holder_text = json.dumps({"pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        atomic_write_text(info, holder_text, root=root)  # never through a link planted in a clone
        yield
    finally:
        info.unlink(missing_ok=True)
        lock.release()
