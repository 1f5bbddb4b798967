"""Where a definition's local `url` points: one rule, shared by validate and the connectors."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=256)
def _real_folder(folder: str) -> str:
    # Many definitions share a data folder; resolving it once saves validate a handful of lstat calls per file.
    return os.path.realpath(folder)


def local_file_path(url: str, root: Path) -> Path | None:
    """The absolute path `url` names, or None when it leaves `root` (`..`, an absolute path elsewhere, a link)."""
    raw = url[len("file://") :] if url.startswith("file://") else url
    candidate = os.path.normpath(os.path.join(root, raw))
    folder, name = os.path.split(candidate)
    real = os.path.join(_real_folder(folder), name)
    if os.path.islink(real):
        real = os.path.realpath(real)
    real_root = _real_folder(str(root))
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    return Path(candidate)


def forget_resolved_folders() -> None:
    """Start a command afresh: a long-running process (the HTTP service) must not trust a folder resolved for an
    earlier request, which may have been swapped for a symlink since."""
    _real_folder.cache_clear()
