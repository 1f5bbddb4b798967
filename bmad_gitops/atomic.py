"""The one way the tool writes a file: inside the project root, atomically (temp file, fsync, rename).

A kill at any moment leaves the file old or new, never empty or half-written; an existing file keeps its
permissions. A target whose real location (after symlinks) leaves the root is refused, whatever the path says.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ProjectError


def inside(path: Path, root: Path) -> bool:
    """Whether `path` really lies inside `root` once every symlink on the way is followed."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def atomic_write_bytes(path: Path, data: bytes, *, root: Path) -> None:
    if not inside(path, root) or path.is_symlink():
        raise ProjectError(
            f"refusing to write {path}: it is a symlink or lies outside the project root {root}",
            "replace the link with a plain file inside the project",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if not inside(path.parent, root):  # mkdir may have followed a link created meanwhile
        raise ProjectError(f"refusing to write {path}: its folder lies outside the project root {root}")
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()  # mkstemp makes 0600; generated files are shared through git like any file
    replace_atomically(path, data, mode)


def replace_atomically(path: Path, data: bytes, mode: int) -> None:
    """Temp file in the same folder, fsync, rename, fsync the folder: the mechanics, with no root check (callers
    that take the path from a setting check it; the keys file of the service is written with mode 0600)."""
    import tempfile  # validate never writes: it should not pay for this import

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
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


def atomic_write_text(path: Path, text: str, *, root: Path) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), root=root)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
