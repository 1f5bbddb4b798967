"""The declarative backend: a compiled (or hand-written) manifest run in-process by PyAirbyte and airbyte-cdk.

Streams whose manifest declares no columns get a schema inferred from a bounded sample read, so a field that
appears, disappears or changes type upstream changes the discovered catalog (that is what drift detection sees).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...catalog import Catalog, catalog_from_json_schemas
from ...errors import ConnectorError
from ..pyairbyte.backend import plain_record, record_connector_errors
from ..pyairbyte.failures import connector_errors
from ..pyairbyte.runtime import load_airbyte, quiet_stderr
from .config import MANIFEST_FILE_KEY, MANIFEST_KEY
from .failures import describe_failure

if TYPE_CHECKING:
    from airbyte.sources.base import Source

SAMPLE_RECORDS = 100  # records read per stream to infer a schema when the manifest declares none


def _load_manifest_file(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_absolute():
        raise ConnectorError(
            f"manifest_file {path!r} is not absolute", "the engine must localize it (registry localize=api_localize)"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConnectorError(f"cannot read manifest_file {file}: {exc.strerror}") from None
    import yaml  # only for hand-written manifest files; JSON is YAML too

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConnectorError(f"manifest_file {file} is not valid YAML: {type(exc).__name__}") from None
    if not isinstance(loaded, dict):
        raise ConnectorError(f"manifest_file {file} does not hold a mapping (a declarative manifest)")
    return loaded


def split_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(manifest, the values the manifest reads) from a connector config made by `api_config`."""
    values = {k: v for k, v in config.items() if k not in (MANIFEST_KEY, MANIFEST_FILE_KEY)}
    manifest = config.get(MANIFEST_KEY)
    if isinstance(manifest, Mapping):
        return dict(manifest), values
    if isinstance(config.get(MANIFEST_FILE_KEY), str):
        return _load_manifest_file(config[MANIFEST_FILE_KEY]), values
    raise ConnectorError("the api connector config has no manifest", "build it with api_config(definition config)")


def _infer_schema(stream: str, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The CDK's inferred schema for a sample, with whole-number fields marked as integers.

    SchemaInferrer never emits `integer` (JSON has one number type); a top-level field whose every sampled value
    is a JSON integer gets `airbyte_type: integer`, as Airbyte's database sources mark integer columns, so it
    matches a declared `integer` column and a later fractional value shows up as drift.
    """
    from airbyte_cdk.models import AirbyteRecordMessage  # type: ignore[attr-defined]  # re-exported at runtime
    from airbyte_cdk.utils.schema_inferrer import SchemaInferrer

    inferrer = SchemaInferrer()
    for record in records:
        inferrer.accumulate(AirbyteRecordMessage(stream=stream, data=dict(record), emitted_at=0))
    inferred = inferrer.get_stream_schema(stream) or {}
    properties = {name: dict(prop) for name, prop in (inferred.get("properties") or {}).items()}
    for name, prop in properties.items():
        seen = [record[name] for record in records if record.get(name) is not None]
        if seen and all(isinstance(value, int) and not isinstance(value, bool) for value in seen):
            prop["airbyte_type"] = "integer"
    return {"type": "object", "properties": properties}


def _cache_component_schema() -> None:
    """Parse the CDK's declarative component schema once per process instead of once per source built.

    PyAirbyte builds a new ConcurrentDeclarativeSource for every check, discover and read, and each one parses
    the CDK's 5,000-line schema YAML again: 0.15-0.5 s, more than the HTTP requests of a 100-record read. The
    CDK only reads the parsed schema (to normalize and validate manifests), so sharing one parse is safe.
    """
    from airbyte_cdk.sources.declarative import concurrent_declarative_source as cds

    if not getattr(cds.get_declarative_component_schema, "_bmad_cached", False):
        cached = functools.cache(cds.get_declarative_component_schema)
        cached._bmad_cached = True  # type: ignore[attr-defined]
        cds.get_declarative_component_schema = cached


class _Where:
    """Which stream a session is working on, so an error without a stream name still says where."""

    stream: str | None = None


class DeclarativeBackend:
    """REST APIs through source-declarative-manifest, in this process.

    It keeps one PyAirbyte source per config, so a read after a discover reuses the discovered catalog.
    """

    def __init__(self, connector: str) -> None:
        self.connector = connector
        self._sources: dict[str, tuple[Source, list[str]]] = {}

    def version(self) -> str:
        # The CDK is what interprets the manifest; read its version without importing it (about 5 s).
        return f"cdk-{importlib.metadata.version('airbyte-cdk')}"

    def check(self, config: Mapping[str, Any]) -> None:
        with self._session(config) as source:
            source.check()

    def discover(self, config: Mapping[str, Any]) -> Catalog:
        where = _Where()
        with self._session(config, fresh=True, where=where) as source:
            schemas: dict[str, dict[str, Any]] = {}
            keys: dict[str, Any] = {}
            for stream in source.discovered_catalog.streams:
                schema = dict(stream.json_schema)
                if not schema.get("properties"):
                    where.stream = stream.name
                    sample = [plain_record(row, None) for row in self._records(source, stream.name, SAMPLE_RECORDS)]
                    if not sample:
                        self._explain_no_records(config, stream.name)
                    schema = _infer_schema(stream.name, sample)
                schemas[stream.name] = schema
                keys[stream.name] = {
                    "primary_key": [".".join(path) for path in stream.source_defined_primary_key or []],
                    "cursor": list(stream.default_cursor_field or []),
                    "sync_modes": sorted(str(getattr(m, "value", m)) for m in stream.supported_sync_modes or []),
                }
        return catalog_from_json_schemas(schemas, keys)

    def read(
        self, config: Mapping[str, Any], stream: str, limit: int, columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        where = _Where()
        where.stream = stream
        with self._session(config, where=where) as source:
            available = sorted(s.name for s in source.discovered_catalog.streams)
            if stream not in available:
                raise ConnectorError(f"{self.connector} has no stream {stream!r}; streams: {', '.join(available)}")
            records = [plain_record(row, columns) for row in self._records(source, stream, limit)]
        if not records:
            self._explain_no_records(config, stream)
        return records

    def _explain_no_records(self, config: Mapping[str, Any], stream: str) -> None:
        """Raise one line when a stream read nothing because its records_path plainly misses the records; return
        when the API may simply have none (an empty list, `{}`, an object without the list, an empty body).

        The CDK's extractor returns nothing for a path that is missing. So the first page is read once more with
        the path emptied, through the same requester, auth and parameters, and with nothing that could drop or
        change what comes back (filters, transformations, incremental bounds), which gives the response itself.
        An error only when the response is a list (records_path should be empty) or an object that lacks the path
        but holds a list of objects under some other field; the response's contents are never shown.
        """
        manifest, values = split_config(config)
        path = _records_path(manifest, stream)
        if not path or any(not isinstance(part, str) or "*" in part or "{" in part for part in path):
            return  # the whole response, or a path with wildcards or templates: nothing to check
        probe = copy.deepcopy(manifest)
        if not _plain_probe(probe, stream):
            return
        where = _Where()
        where.stream = stream
        with self._session({MANIFEST_KEY: probe, **values}, fresh=True, where=where) as source:
            first = self._records(source, stream, 2)
        shown = ".".join(path)
        if len(first) > 1:
            raise ConnectorError(
                f"{self.connector}: stream '{stream}' read no records: the response is a list, and records_path"
                f" '{shown}' looks for a field in an object",
                "set records_path: [] when the response is the list of records itself",
            )
        found: Any = first[0] if first else None
        for part in path:
            if not isinstance(found, Mapping):
                return
            if part not in found:
                if any(_is_records(value) for value in found.values()):
                    raise ConnectorError(
                        f"{self.connector}: stream '{stream}' read no records: the response has no '{shown}'"
                        " (its records_path) but holds a list of records under another field",
                        "set records_path to the field that holds the list of records",
                    )
                return
            found = found[part]

    @staticmethod
    def _records(source: Source, stream: str, limit: int) -> list[dict[str, Any]]:
        # Hold the LazyDataset while iterating: once freed, its __del__ stops the read and we would silently get
        # no rows (PYAIRBYTE.md, "the silent-empty trap"). prune_undeclared_fields=False keeps every field.
        with _pages_capped(source, _pages_for(source, stream, limit)):
            dataset = source.get_records(stream, limit=limit, prune_undeclared_fields=False)
            rows = [dict(row) for row in dataset]
        return rows

    @contextlib.contextmanager
    def _session(
        self, config: Mapping[str, Any], *, fresh: bool = False, where: _Where | None = None
    ) -> Iterator[Source]:
        """The PyAirbyte source for `config`, with every failure turned into one ConnectorError line."""
        manifest, values = split_config(config)
        timeout = _timeout(manifest)
        load_airbyte()
        _cache_component_schema()
        with quiet_stderr():
            slot = json.dumps(config, sort_keys=True, default=str)
            kept = None if fresh else self._sources.get(slot)
            if kept is None:
                with connector_errors(self.connector, values):
                    kept = self._sources[slot] = self._new_source(manifest, values)
            source, reported = kept
            reported.clear()
            # Inner: recognise HTTP statuses and network failures in the raw text, before connector_errors
            # shortens it; outer: anything else becomes connector_errors' scrubbed line.
            with connector_errors(self.connector, values, reported):
                try:
                    yield source
                except ConnectorError:
                    raise
                except Exception as exc:
                    described = describe_failure(
                        self.connector,
                        _raw_text(exc, reported),
                        timeout=timeout,
                        stream=where.stream if where else None,
                        log_file=getattr(exc, "log_file", None),
                    )
                    if described is None:
                        raise
                    raise described from None

    def _new_source(self, manifest: dict[str, Any], values: dict[str, Any]) -> tuple[Source, list[str]]:
        from airbyte import get_source

        digest = hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()[:12]
        # A dict manifest runs in-process; a YAML string would be taken as a name to download (PYAIRBYTE.md).
        source = get_source(f"source-declarative-manifest-{digest}", config=values, source_manifest=manifest)
        return source, record_connector_errors(source)


def _stream_entry(manifest: Mapping[str, Any], stream: str) -> dict[str, Any] | None:
    """The manifest's definition of `stream` (the first one of that name), or None."""
    for entry in manifest.get("streams") or []:
        if isinstance(entry, dict) and entry.get("name") == stream:
            return entry
    return None


def _retriever(entry: Mapping[str, Any]) -> dict[str, Any]:
    retriever = entry.get("retriever")
    return retriever if isinstance(retriever, dict) else {}


def _records_path(manifest: Mapping[str, Any], stream: str) -> list[Any]:
    entry = _stream_entry(manifest, stream)
    extractor = (_retriever(entry).get("record_selector") or {}).get("extractor") if entry else None
    if not isinstance(extractor, dict) or extractor.get("type") != "DpathExtractor":
        return []
    path = extractor.get("field_path")
    return list(path) if isinstance(path, list) else []


def _plain_probe(manifest: Mapping[str, Any], stream: str) -> bool:
    """Make `stream` of this (copied) manifest read its responses whole: the path emptied, and no record filter,
    transformation or incremental bound. False when it reads through a partition router (no parent, no request)."""
    entry = _stream_entry(manifest, stream)
    retriever = (entry.get("retriever") or {}) if entry is not None else None
    if entry is None or not isinstance(retriever, dict) or retriever.get("partition_router"):
        return False
    selector = retriever.get("record_selector")
    if isinstance(selector, dict):
        selector.pop("record_filter", None)
        extractor = selector.get("extractor")
        if isinstance(extractor, dict):
            extractor["field_path"] = []
    for key in ("transformations", "incremental_sync"):
        entry.pop(key, None)
    return True


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)


def _page_size(manifest: Mapping[str, Any], stream: str) -> int | None:
    entry = _stream_entry(manifest, stream)
    paginator = (_retriever(entry).get("paginator") or {}) if entry else {}
    size = (paginator.get("pagination_strategy") or {}).get("page_size")
    return size if isinstance(size, int) and size > 0 else None


def _pages_for(source: Source, stream: str, limit: int) -> int:
    """Pages enough for `limit` records: every page but the last holds at least one record (else the read ends)."""
    manifest = getattr(source.executor, "_manifest_dict", None) or {}
    size = _page_size(manifest, stream)
    return -(-limit // size) + 1 if size else limit


@contextlib.contextmanager
def _pages_capped(source: Source, pages: int) -> Iterator[None]:
    """Stop paginating after `pages` pages for reads of this source while the context lasts.

    PyAirbyte's `limit` only stops yielding: the CDK's worker threads go on paging through the whole API in the
    background, and once its 10,000-item queue is full they block and keep the process from exiting. The CDK's
    page cap (what the Connector Builder's test reads use) ends them; we set it on the component factory of each
    source PyAirbyte builds, leaving retries on, which the CDK's `limits=` option would turn off.
    """
    executor: Any = source.executor
    build = executor._build_declarative_source

    def capped(config: dict[str, Any] | None = None) -> Any:
        built = build(config)
        built._constructor._limit_pages_fetched_per_slice = pages
        return built

    executor._build_declarative_source = capped
    try:
        yield
    finally:
        del executor._build_declarative_source  # the class's own method again


def _raw_text(exc: BaseException, reported: Sequence[str]) -> str:
    """Everything PyAirbyte and the CDK said about a failure, only to classify it (it is never shown)."""
    parts = [*reported, str(exc)]
    context = getattr(exc, "context", None)
    if isinstance(context, Mapping):
        parts += [str(context.get(key, "")) for key in ("failure_reason", "error_message")]
    cause = exc.__cause__ or getattr(exc, "original_exception", None)
    if cause is not None:
        parts.append(f"{type(cause).__name__}: {cause}")
    return " ".join(parts)


def _timeout(manifest: Mapping[str, Any]) -> float | None:
    """The read timeout the manifest sets on its first stream, for the error message when it is exceeded."""
    for stream in manifest.get("streams") or []:
        requester = ((stream or {}).get("retriever") or {}).get("requester") or {}
        value = requester.get("read_timeout_in_seconds")
        if isinstance(value, (int, float)):
            return float(value)
    return None
