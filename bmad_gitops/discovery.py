"""Discovery through the registry's backend, with a cache so a warm, unchanged file source starts no process.

The key covers the connector version, the resolved config (secret values only inside a hash; the cache is
local and git-ignored) and each local file's path inside the project, size and content hash. Not the mtime: a
fresh clone has new mtimes and the same data. Remote sources (databases, buckets, APIs) change without any file
here changing, so they are asked every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .catalog import Catalog, catalog_from_json, catalog_to_json
from .connectors.registry import ConnectorEntry, entry
from .errors import ConfigError, ProjectError
from .localpaths import local_file_path
from .resolve import ResolvedSource, reveal, secrets_hidden


def cache_dir(root: Path) -> Path:
    return root / ".bmad-gitops" / "cache" / "discovery"


def local_files(source: ResolvedSource, root: Path) -> list[Path]:
    """The local files a source reads, after `${VAR}` and `$$` are resolved; each must stay inside the root."""
    found = []
    for raw in entry(source.connector).local_paths(reveal(source.config)):
        target = local_file_path(raw, root)
        if target is None:
            raise ConfigError(
                f"{source.definition.display}: local path '{raw}' is outside the project root",
                "keep data files inside the repository, for example under data/",
            )
        found.append(target)
    return found


def connector_config(source: ResolvedSource, root: Path) -> dict[str, Any]:
    """The revealed config a backend receives: secrets opened, local paths checked and made absolute."""
    known = {raw: str(path) for raw, path in zip(_raw_paths(source), local_files(source, root), strict=True)}
    config: dict[str, Any] = entry(source.connector).localize(reveal(source.config), lambda raw: known[raw])
    return config


def _raw_paths(source: ResolvedSource) -> list[str]:
    return entry(source.connector).local_paths(reveal(source.config))


def cache_key(source: ResolvedSource, version: str, root: Path) -> str:
    """Same inputs, same key, wherever the project lives: a clone or a CI checkout hits a restored cache."""
    digest = hashlib.sha256()
    digest.update(f"{source.connector}=={version}\n".encode())
    digest.update(json.dumps(reveal(source.config), sort_keys=True, default=str).encode())
    for path in local_files(source, root):
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        try:
            content = path.read_bytes()
            digest.update(f"{name}:{len(content)}:".encode())
            digest.update(hashlib.sha256(content).digest())
        except OSError:
            digest.update(f"{name}:missing".encode())
    return digest.hexdigest()


def discover_source(
    source: ResolvedSource, root: Path, *, use_cache: bool = True, remote_ttl: float | None = None
) -> Catalog:
    """The catalog from the cache when the key matches, else from the backend.

    Local sources are cached by content. Remote ones by content too when the registry can fingerprint what their
    catalog is inferred from (an S3 bucket's matched objects: one listing instead of a connector start); others
    only when the caller asks, for `remote_ttl` seconds: a cached catalog of a database hides an ALTER TABLE, so
    that is an explicit choice with a lifetime.
    """
    import time

    known: ConnectorEntry = entry(source.connector)
    fingerprint = None
    if use_cache and known.remote and remote_ttl is None and known.fingerprint is not None:
        with secrets_hidden(source.config):
            fingerprint = known.fingerprint(connector_config(source, root))
    if not use_cache or (known.remote and remote_ttl is None and fingerprint is None):
        with secrets_hidden(source.config):
            return known.backend().discover(connector_config(source, root))
    suffix = f"-{fingerprint}" if fingerprint is not None else ""
    path = cache_dir(root) / f"{cache_key(source, known.version(), root)}{suffix}.json"
    fresh = not known.remote or fingerprint is not None or (path.is_file() and time.time() - path.stat().st_mtime <= (remote_ttl or 0))
    if path.is_file() and fresh:
        try:
            return catalog_from_json(path.read_bytes())
        except ValueError:
            pass  # a damaged entry is simply rediscovered and replaced
    with secrets_hidden(source.config):
        catalog = known.backend().discover(connector_config(source, root))
    # The cache is an optimisation: a folder that cannot take it costs a discovery next time, no more.
    with contextlib.suppress(OSError, ProjectError):
        atomic_write_text(path, catalog_to_json(catalog), root=root)
    return catalog
