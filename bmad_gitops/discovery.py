"""Discovery with a cache: a warm, unchanged source starts no connector process at all.

The key covers the connector version, the resolved config (secret values only as a hash, and the cache is
local and git-ignored) and, for local files, their size, mtime and content hash.
"""

from __future__ import annotations

import hashlib
import json
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
    digest = hashlib.sha256()
    digest.update(f"{source.call.connector}=={version}\n".encode())
    digest.update(json.dumps(reveal(source.config), sort_keys=True, default=str).encode())
    digest.update(repr(source.call.sheets).encode())
    for path in _local_files(source, root):
        try:
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}:".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(f"{path}:missing".encode())
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
    tmp = path.with_suffix(".tmp")
    tmp.write_text(catalog.model_dump_json(), encoding="utf-8")
    tmp.replace(path)
    return catalog
