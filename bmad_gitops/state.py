"""Applied state on disk: one deterministic JSON file per source, written atomically, guarded by one lock.

State files are meant to be committed, so a pull request shows schema changes. Killing a write at any moment
leaves each file old or new, never half-written: we write a temp file, fsync it, and rename it over the old one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .model import AppliedState


class StateError(Exception):
    """A state file cannot be read; the message names it and what to do."""


class StateLockedError(Exception):
    """Another apply holds the lock."""


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
    except OSError as exc:
        raise StateError(f"{path}: cannot be read ({exc.strerror}); check permissions") from None
    try:
        return AppliedState.model_validate_json(text)
    except ValueError:
        raise StateError(f"{path}: is not a valid state file; restore it from git (git checkout -- {path})") from None


def read_all_states(state_dir: Path) -> dict[str, AppliedState]:
    if not state_dir.is_dir():
        return {}
    states = {}
    for path in sorted(state_dir.glob("*.json")):
        state = read_state(state_dir, path.stem)
        if state is not None:
            states[path.stem] = state
    return states


def file_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def write_state(state_dir: Path, state: AppliedState) -> bool:
    """Write atomically; return False (and touch nothing) when the bytes would not change."""
    path = state_path(state_dir, state.source)
    text = render_state(state)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    _atomic_write(path, text)
    return True


def delete_state(state_dir: Path, source: str) -> None:
    state_path(state_dir, source).unlink(missing_ok=True)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; state is shared through git like any file
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
        raise StateLockedError(f"state is locked by {detail}; wait for that apply to finish") from None
    try:
        info.write_text(
            json.dumps({"pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}), encoding="utf-8"
        )
        yield
    finally:
        info.unlink(missing_ok=True)
        lock.release()
