"""The one table of connectors: which backend runs each, at which pinned version, its family, and how a
definition's `config` maps onto the connector's own shape.

Everything that needs to know about a connector asks here (the engine, validate's spec check, lineage naming,
the discovery cache); nothing else matches connector names. Importing this module is cheap: backends are built
by factories that import their heavy parts on first use. Tests swap in a fake with `registered(...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError, ConnectorError
from .declarative.config import api_config, api_local_paths, api_localize
from .pyairbyte.source_file import file_config, file_local_paths, file_localize
from .pyairbyte.source_s3 import s3_config
from .sql.config import mysql_config, postgres_config

if TYPE_CHECKING:
    from .base import Backend

Family = Literal["file", "database", "s3", "api"]
ConfigMap = Callable[[Mapping[str, Any]], dict[str, Any]]


def _same(config: Mapping[str, Any]) -> dict[str, Any]:
    return dict(config)


def _no_paths(config: Mapping[str, Any]) -> list[str]:
    return []


def _unchanged(config: Mapping[str, Any], absolute: Callable[[str], str]) -> dict[str, Any]:
    return dict(config)


@dataclass(frozen=True)
class ConnectorEntry:
    connector: str
    family: Family
    pinned: str  # the version that runs: a PyPI release for PyAirbyte connectors, "native" for our own backends
    make_backend: Callable[[ConnectorEntry], Backend]
    map_config: ConfigMap = _same
    # Local files the definition's config reads (as written): validate checks them, the cache hashes them.
    local_paths: Callable[[Mapping[str, Any]], list[str]] = _no_paths
    # The mapped config with those paths made absolute, for the backend.
    localize: Callable[[Mapping[str, Any], Callable[[str], str]], dict[str, Any]] = _unchanged
    # OpenLineage dataset naming scheme (https://openlineage.io/docs/spec/naming).
    lineage_scheme: str = "file"
    # Remote sources change without any file in the project changing: plan always asks them.
    remote: bool = False
    # Checks of a live source the catalog cannot show (an S3 glob that matches no object): (config key path,
    # message) pairs, run on the backend and the backend's config at plan time.
    live_checks: Callable[[Backend, Mapping[str, Any]], list[tuple[tuple[str | int, ...], str]]] | None = None
    # For a remote source whose catalog is inferred from what it holds: a digest of that (S3: the objects the
    # globs match, with their sizes and ETags), from the backend's config, or None when it cannot tell. An
    # unchanged digest lets plan reuse the catalog cached under it instead of starting the connector again.
    fingerprint: Callable[[Mapping[str, Any]], str | None] | None = None
    # Why the backend cannot run here yet; None when it can.
    unavailable: str | None = None
    installed_version: Callable[[ConnectorEntry], str | None] = lambda entry: entry.pinned

    def backend(self) -> Backend:
        if self.unavailable is not None:
            raise ConnectorError(f"{self.connector}: {self.unavailable}")
        return self.make_backend(self)

    def version(self) -> str:
        """The installed version when known, else the pinned one; never installs or imports a backend."""
        return self.installed_version(self) or self.pinned


def _pyairbyte(entry: ConnectorEntry) -> Backend:
    from .pyairbyte.backend import PyAirbyteBackend

    return PyAirbyteBackend(entry.connector, entry.pinned)


def _s3(entry: ConnectorEntry) -> Backend:
    from .pyairbyte.s3_backend import S3Backend

    backend: Backend = S3Backend(entry.connector, entry.pinned)
    return backend


def _s3_fingerprint(config: Mapping[str, Any]) -> str | None:
    from .s3_listing import listing_fingerprint

    return listing_fingerprint(config)


def _s3_empty_globs(backend: Backend, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """A stream whose globs match no object in the bucket: discover would give it nothing to read."""
    lister = getattr(backend, "objects", None)
    if lister is None:
        return []
    matched = {name for item in lister(config, None, 100_000) for name in item.streams}
    return [
        (("config", "streams", index, "globs"), f"the globs of stream '{stream['name']}' match no object in the bucket")
        for index, stream in enumerate(config.get("streams") or [])
        if isinstance(stream, Mapping) and stream.get("name") not in matched
    ]


def _pyairbyte_installed(entry: ConnectorEntry) -> str | None:
    from .pyairbyte.install import installed_version

    return installed_version(entry.connector, entry.pinned)


def _sql(entry: ConnectorEntry) -> Backend:
    try:
        from .sql.backend import SqlBackend
    except ImportError as exc:  # the live extra is missing SQLAlchemy or a driver
        raise ConnectorError(
            f"{entry.connector}: the database backend cannot load ({exc})", "pip install 'bmad-gitops[live]'"
        ) from None
    backend: Backend = SqlBackend(entry.connector)
    return backend


def _sql_version(entry: ConnectorEntry) -> str | None:
    try:
        from .sql.backend import SqlBackend  # cheap: the version comes from package metadata
    except ImportError:
        return None
    return SqlBackend(entry.connector).version()


def _cdk_version(entry: ConnectorEntry) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return "cdk-" + version("airbyte-cdk")
    except PackageNotFoundError:
        return None


def _declarative(entry: ConnectorEntry) -> Backend:
    from .declarative.backend import DeclarativeBackend

    backend: Backend = DeclarativeBackend(entry.connector)
    return backend


_ENTRIES: dict[str, ConnectorEntry] = {
    e.connector: e
    for e in (
        ConnectorEntry(
            "source-file",
            "file",
            "0.5.39",  # 0.5.40-0.6.0 need a smart-open release that does not exist (PYAIRBYTE.md)
            _pyairbyte,
            map_config=file_config,
            local_paths=file_local_paths,
            localize=file_localize,
            lineage_scheme="file",
            installed_version=_pyairbyte_installed,
        ),
        ConnectorEntry(
            "source-s3",
            "s3",
            "4.14.2",  # 4.14.3-4.16.1 have the same smart-open problem
            _s3,
            map_config=s3_config,
            lineage_scheme="s3",
            remote=True,
            live_checks=_s3_empty_globs,
            fingerprint=_s3_fingerprint,
            installed_version=_pyairbyte_installed,
        ),
        ConnectorEntry(
            "source-postgres",
            "database",
            "native",
            _sql,
            map_config=postgres_config,
            lineage_scheme="postgres",
            remote=True,
            installed_version=_sql_version,
        ),
        ConnectorEntry(
            "source-mysql",
            "database",
            "native",
            _sql,
            map_config=mysql_config,
            lineage_scheme="mysql",
            remote=True,
            installed_version=_sql_version,
        ),
        ConnectorEntry(
            "source-declarative-manifest",
            "api",
            "native",
            _declarative,
            map_config=api_config,
            local_paths=api_local_paths,
            localize=api_localize,
            lineage_scheme="api",
            remote=True,
            installed_version=_cdk_version,
        ),
    )
}


def entries() -> tuple[ConnectorEntry, ...]:
    return tuple(_ENTRIES[name] for name in sorted(_ENTRIES))


def find_entry(connector: str) -> ConnectorEntry | None:
    return _ENTRIES.get(connector)


def entry(connector: str) -> ConnectorEntry:
    found = _ENTRIES.get(connector)
    if found is None:
        raise ConfigError(f"no backend for connector '{connector}'", f"use one of: {', '.join(sorted(_ENTRIES))}")
    return found


def backend_for(connector: str) -> Backend:
    return entry(connector).backend()


@contextmanager
def registered(new: ConnectorEntry) -> Iterator[ConnectorEntry]:
    """Put `new` in the table for the duration (tests register fake backends this way)."""
    old = _ENTRIES.get(new.connector)
    _ENTRIES[new.connector] = new
    try:
        yield new
    finally:
        if old is None:
            _ENTRIES.pop(new.connector, None)
        else:
            _ENTRIES[new.connector] = old
