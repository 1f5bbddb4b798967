"""A small cache of sample reads for local sources, keyed like the discovery cache (connector version, resolved
config, each local file's content hash) plus stream and limit: an unchanged file is never read twice.

Entries hold unmasked records (the data is already in the project's own files); masking happens per caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..connectors.registry import entry
from ..discovery import cache_key
from ..errors import ProjectError
from ..resolve import ResolvedSource


def sample_path(source: ResolvedSource, root: Path, stream: str, limit: int) -> Path | None:
    """Where this read is cached, or None for remote sources (they change without any file here changing)."""
    known = entry(source.connector)
    if known.remote:
        return None
    base = cache_key(source, known.version(), root)
    digest = hashlib.sha256(f"{base}\n{stream}\n{limit}".encode()).hexdigest()
    return root / ".bmad-gitops" / "cache" / "samples" / f"{digest}.json"


def cached_sample(path: Path | None) -> list[dict[str, Any]] | None:
    if path is None or not path.is_file():
        return None
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return records if isinstance(records, list) else None


def store_sample(path: Path | None, records: list[dict[str, Any]], root: Path) -> None:
    if path is None:
        return
    with contextlib.suppress(OSError, ProjectError, TypeError, ValueError):  # best effort, like the discovery cache
        atomic_write_text(path, json.dumps(records, sort_keys=True, default=str), root=root)
