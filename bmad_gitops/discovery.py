"""Discovery with a cache: a warm, unchanged source starts no connector process at all.

The key covers the connector version, the resolved config (secret values only as a hash, and the cache is
local and git-ignored) and, for local files, their path inside the project, size and content hash. Not the
mtime: a fresh clone has new mtimes and the same data.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .catalog import Catalog
from .localpaths import local_file_path
from .resolve import ResolvedSource, reveal


def connector_config(source: ResolvedSource, root: Path) -> dict[str, Any]:
    """The revealed config a connector receives: secrets opened, local paths made absolute."""
    config: dict[str, Any] = reveal(source.config)
    if source.definition.data.get("type") == "file" and isinstance(config.get("url"), str):
        target = local_file_path(config["url"], root)
        if target is not None:
            config["url"] = str(target)
    return config


def _local_files(source: ResolvedSource, root: Path) -> list[Path]:
    url = source.config.get("url") if source.definition.data.get("type") == "file" else None
    target = local_file_path(url, root) if isinstance(url, str) else None
    return [target] if target is not None else []


def cache_key(source: ResolvedSource, version: str, root: Path) -> str:
    """Same inputs, same key, wherever the project lives: a clone or a CI checkout hits a restored cache."""
    digest = hashlib.sha256()
    digest.update(f"{source.call.connector}=={version}\n".encode())
    digest.update(json.dumps(reveal(source.config), sort_keys=True, default=str).encode())
    digest.update(repr(source.call.sheets).encode())
    for path in _local_files(source, root):
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        try:
            content = path.read_bytes()
            digest.update(f"{name}:{len(content)}:".encode())
            digest.update(hashlib.sha256(content).digest())
        except OSError:
            digest.update(f"{name}:missing".encode())
    return digest.hexdigest()


def discover_cached(source: ResolvedSource, root: Path, cache_dir: Path, version: str) -> Catalog:
    """The catalog from the cache when the key matches, else from the connector (and stored)."""
    from .connectors.registry import backend_for

    path = cache_dir / f"{cache_key(source, version, root)}.json"
    if path.is_file():
        try:
            return Catalog.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            path.unlink(missing_ok=True)
    catalog = backend_for(source.call.connector).discover(connector_config(source, root), sheets=source.call.sheets)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")  # unique: two plans may discover one source at once
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(catalog.model_dump_json())
    os.replace(tmp, path)
    return catalog
