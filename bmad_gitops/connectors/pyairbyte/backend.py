"""The PyAirbyte backend: one pinned connector, run in its own venv, behind the Backend protocol."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from ...catalog import Catalog, catalog_from_json_schemas
from ...errors import ConnectorError
from .failures import connector_errors
from .install import ensure_installed, install_root, pip_url
from .runtime import load_airbyte, quiet_stderr
from .source_file import Run, file_runs

if TYPE_CHECKING:
    from airbyte.sources.base import Source
    from airbyte_protocol.models import AirbyteStream

T = TypeVar("T")


def _get_source(name: str, version: str, config: Mapping[str, Any]) -> Source:
    load_airbyte()
    from airbyte import get_source

    return get_source(
        name,
        config=dict(config),
        pip_url=pip_url(name, version),
        install_root=install_root(name, version),
        install_if_missing=False,  # installing happens in ensure_installed, under the lock
    )


def record_connector_errors(source: Source) -> list[str]:
    """A list that collects the connector's own error text from now on.

    PyAirbyte 0.71 swallows the exception it builds from a connector's TRACE error, prints the message and then
    raises a bare "Connector failed"; hooking the print is the one place the text is available.
    """
    reported: list[str] = []
    original = getattr(source, "_print_error_message", None)
    if original is not None:

        def record(message: str) -> None:
            reported.append(message)
            original(message)

        source._print_error_message = record  # type: ignore[method-assign]
    return reported


def _stream_keys(stream: AirbyteStream) -> dict[str, list[str]]:
    # Airbyte keys are lists of field paths; a nested path becomes "parent.child".
    primary_key = [".".join(path) for path in stream.source_defined_primary_key or []]
    cursor = list(stream.default_cursor_field or [])
    modes = [str(getattr(mode, "value", mode)) for mode in stream.supported_sync_modes or []]
    return {"primary_key": primary_key, "cursor": cursor, "sync_modes": modes or ["full_refresh"]}


def _catalog(streams: Iterable[AirbyteStream]) -> Catalog:
    schemas: dict[str, dict[str, Any]] = {}
    keys: dict[str, Any] = {}
    for stream in streams:
        schemas[stream.name] = dict(stream.json_schema)
        keys[stream.name] = _stream_keys(stream)
    return catalog_from_json_schemas(schemas, keys)


def plain_record(record: Mapping[str, Any], columns: Sequence[str] | None) -> dict[str, Any]:
    keep = set(columns) if columns is not None else None
    return {
        key: value
        for key, value in record.items()
        if not key.startswith("_airbyte_") and (keep is None or key in keep)
    }


class PyAirbyteBackend:
    """One pinned PyAirbyte connector.

    It keeps its PyAirbyte sources by config, so a read after a discover of the same config skips a second
    discovery (about 4 s per connector start).
    """

    def __init__(self, connector: str, pinned: str) -> None:
        self.connector = connector
        self.pinned = pinned
        self._sources: dict[str, tuple[Source, list[str]]] = {}

    def version(self) -> str:
        return ensure_installed(self.connector, self.pinned)

    def spec(self) -> dict[str, Any]:
        """The connector's `connectionSpecification`, as its `spec` command prints it."""
        return dict(self._each({}, [Run("", {})], lambda source: dict(source.config_spec))[0])

    def check(self, config: Mapping[str, Any]) -> None:
        # For a workbook one sheet is enough: the connector opens every sheet the same way.
        with self._runs(config, first_only=True) as runs:
            self._each(config, runs, lambda source: source.check())

    def discover(self, config: Mapping[str, Any]) -> Catalog:
        with self._runs(config) as runs:
            found = self._each(config, runs, lambda source: list(source.discovered_catalog.streams), fresh=True)
        return _catalog(stream for streams in found for stream in streams)

    def read(
        self, config: Mapping[str, Any], stream: str, limit: int, columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        if limit <= 0:
            return []

        def records(source: Source) -> list[dict[str, Any]]:
            available = sorted(s.name for s in source.discovered_catalog.streams)
            if stream not in available:
                raise ConnectorError(f"{self.connector} has no stream {stream!r}; streams: {', '.join(available)}")
            # Hold the LazyDataset while iterating: once it is freed, its __del__ stops the read and we would
            # silently get no rows (PYAIRBYTE.md, "the silent-empty trap").
            dataset = source.get_records(stream, limit=limit, prune_undeclared_fields=False)
            rows = list(dataset)
            return [plain_record(row, columns) for row in rows]

        with self._runs(config, only_stream=stream) as runs:
            (rows,) = self._each(config, runs, records)
        return list(rows)

    @contextlib.contextmanager
    def _runs(
        self,
        config: Mapping[str, Any],
        *,
        only_stream: str | None = None,
        first_only: bool = False,
    ) -> Iterator[list[Run]]:
        if self.connector != "source-file":
            yield [Run("", dict(config))]
            return
        with (
            connector_errors(self.connector, config),
            file_runs(config, only_stream=only_stream, first_only=first_only) as runs,
        ):
            yield runs

    def _each(
        self, config: Mapping[str, Any], runs: list[Run], call: Callable[[Source], T], *, fresh: bool = False
    ) -> list[T]:
        """`call(source)` for each run; several runs go in parallel threads, each a separate connector process.

        `fresh` drops the sources kept for these runs, and with them the catalogs they discovered before.
        """
        ensure_installed(self.connector, self.pinned)
        load_airbyte()  # here, not in the worker threads: the import swaps warning filters, which is not thread-safe
        key = json.dumps(config, sort_keys=True, default=str)
        with quiet_stderr():
            if len(runs) == 1:
                return [self._call(key, runs[0], call, fresh)]
            with ThreadPoolExecutor(max_workers=min(len(runs), 4)) as pool:
                return list(pool.map(lambda run: self._call(key, run, call, fresh), runs))

    def _call(self, key: str, run: Run, call: Callable[[Source], T], fresh: bool) -> T:
        # Keyed by the caller's config: a sheet's copy lives in a new temporary folder on every call.
        slot = f"{key}#{run.stream}"
        kept = None if fresh else self._sources.get(slot)
        if kept is None:
            with connector_errors(self.connector, run.config):
                created = _get_source(self.connector, self.pinned, run.config)
            kept = self._sources[slot] = (created, record_connector_errors(created))
        source, reported = kept
        reported.clear()
        with connector_errors(self.connector, run.config, reported):
            source.set_config(run.config, validate=False)
            return call(source)
