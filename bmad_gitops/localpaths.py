"""Where a definition's local `url` points: one rule, shared by validate and the connectors."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=8)
def _resolved(root: Path) -> Path:
    return root.resolve()


def local_file_path(url: str, root: Path) -> Path | None:
    """The absolute path `url` names, or None when it leaves `root` (`..`, an absolute path elsewhere, a link)."""
    raw = url[len("file://") :] if url.startswith("file://") else url
    candidate = Path(os.path.normpath(root / raw))
    resolved_root = _resolved(root)
    try:
        candidate.resolve().relative_to(resolved_root)
    except ValueError:
        return None
    return candidate
