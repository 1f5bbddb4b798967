"""Run Airbyte's Python connectors through PyAirbyte: install a pinned version once, then check, discover and read.

`import airbyte` costs about 5 s and 300 MB, so it happens inside functions and importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO, TypeVar
from urllib.parse import unquote

from bmad_gitops.cachedir import cache_dir
from bmad_gitops.catalog import Catalog, catalog_from_json_schemas
from bmad_gitops.errors import ConnectorError

if TYPE_CHECKING:
    from airbyte.sources.base import Source
    from airbyte_protocol.models import AirbyteStream

# Newer releases of both require a smart-open version that does not exist on PyPI (see PYAIRBYTE.md).
PINNED: dict[str, str] = {"source-file": "0.5.39", "source-s3": "4.14.2"}

T = TypeVar("T")

_VERSION_MARKER = "installed-version"
_INSTALL_LOCK_TIMEOUT_S = 900
_MAX_MESSAGE = 300
_STDERR_LOG_MAX_BYTES = 5_000_000
_VALUE_SEPARATORS = re.compile(r"[/?&=:@#;,\s]+")


# ── where connectors live ────────────────────────────────────────────────────────────────────────────────────────


def pinned_version(name: str) -> str:
    try:
        return PINNED[name]
    except KeyError:
        supported = ", ".join(sorted(PINNED))
        raise ConnectorError(f"connector {name!r} is not run through PyAirbyte; supported: {supported}") from None


def install_root(name: str) -> Path:
    """One venv per connector version, shared by every project on the machine."""
    return cache_dir() / "connectors" / f"{name}-{pinned_version(name)}"


def _venv(name: str) -> Path:
    return install_root(name) / f".venv-{name}"  # PyAirbyte's own naming inside install_root


def _venv_bin(name: str) -> Path:
    return _venv(name) / ("Scripts" if os.name == "nt" else "bin")


def installed_version(name: str) -> str | None:
    """The version installed in the shared cache, or None. Looks at files only: no `import airbyte`."""
    try:
        version = (install_root(name) / _VERSION_MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    executable = _venv_bin(name) / (f"{name}.exe" if os.name == "nt" else name)
    return version if version and executable.exists() else None


def ensure_installed(name: str) -> str:
    """Install the pinned connector unless it is already there; return the installed version."""
    found = installed_version(name)
    if found is not None:
        return found
    from filelock import FileLock, Timeout

    root = install_root(name)
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root.parent / f"{root.name}.lock"), timeout=_INSTALL_LOCK_TIMEOUT_S)
    try:
        with lock:
            found = installed_version(name)  # another process may have finished while we waited
            if found is None:
                found = _install(name, root)
                marker = root / _VERSION_MARKER
                tmp = marker.with_suffix(".tmp")
                tmp.write_text(found + "\n", encoding="utf-8")
                tmp.replace(marker)  # the marker appears only once the venv is complete
            return found
    except Timeout:
        raise ConnectorError(
            f"another process has been installing {name} for {_INSTALL_LOCK_TIMEOUT_S // 60} minutes; "
            f"if none is running, delete {lock.lock_file}"
        ) from None


def _install(name: str, root: Path) -> str:
    version = pinned_version(name)
    executable = _venv_bin(name) / (f"{name}.exe" if os.name == "nt" else name)
    if executable.exists() and _distribution_version(name) == version:
        return version  # a complete venv without our marker: adopt it rather than pull it from under a user
    # Anything else there is the leftover of an interrupted install, which PyAirbyte would trust as is.
    shutil.rmtree(_venv(name), ignore_errors=True)
    with _quiet_stderr(), _connector_errors(name, {}, installing=True), _environ(UV_COMPILE_BYTECODE="1"):
        # Compiling at install time spares the first connector start (pandas & co.) several seconds.
        _load_airbyte()
        from airbyte import get_source

        get_source(name, pip_url=f"airbyte-{name}=={version}", install_root=root)
    return _distribution_version(name) or version


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Set environment variables for the duration, unless the user already set them."""
    added = [key for key in values if key not in os.environ]
    for key in added:
        os.environ[key] = values[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _distribution_version(name: str) -> str | None:
    """The version pip recorded in the connector venv, read from its dist-info (no subprocess)."""
    dist = f"airbyte_{name.replace('-', '_')}"
    for metadata in sorted(_venv(name).glob(f"lib*/python*/site-packages/{dist}-*.dist-info/METADATA")):
        for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.partition(":")[2].strip()
    return None


# ── running PyAirbyte quietly ────────────────────────────────────────────────────────────────────────────────────


def _prepare_environment() -> None:
    """Settings PyAirbyte reads at import time; a user's own values win."""
    os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")  # the connector registry is unreachable; also no telemetry
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # `uv` ships in our venv's bin/, which is not on PATH when `.venv/bin/bmad-gitops` runs without activation.
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path if path else bin_dir
    if shutil.which("uv") is None:
        os.environ.setdefault("AIRBYTE_NO_UV", "1")
    logs = cache_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRBYTE_LOGGING_ROOT", str(logs))


def _load_airbyte() -> None:
    """Import PyAirbyte once, in the calling thread, after the environment it reads at import time is set."""
    _prepare_environment()
    if "airbyte" in sys.modules:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # google-cloud packages warn about Python 3.11 on import
        import airbyte  # noqa: F401


def _get_source(name: str, config: Mapping[str, Any]) -> Source:
    _load_airbyte()
    from airbyte import get_source

    return get_source(
        name,
        config=dict(config),
        pip_url=f"airbyte-{name}=={pinned_version(name)}",
        install_root=install_root(name),
        install_if_missing=False,  # installing happens in ensure_installed, under the lock
    )


def _record_connector_errors(source: Source) -> list[str]:
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


class _StderrRedirect:
    """One process-wide redirect of fd 2, shared by every thread that runs a connector.

    `plan --parallelism N` discovers sources in threads; if each thread swapped fd 2 on its own, one thread
    would restore (and close) what another was still writing to. So the first thread in redirects and the
    last one out restores.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._sink: IO[str] | None = None
        self._saved_fd: int | None = None
        self._saved_stderr: TextIO | None = None

    def enter(self) -> None:
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            logs = cache_dir() / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            target = logs / "connector-stderr.log"
            mode = "w" if target.exists() and target.stat().st_size > _STDERR_LOG_MAX_BYTES else "a"
            sink = self._sink = open(target, mode, encoding="utf-8")  # noqa: SIM115 - closed in leave()
            sys.stderr.flush()
            try:
                self._saved_fd = os.dup(2)
            except OSError:  # no file descriptor 2 (e.g. pythonw): the Python-level redirect is all we can do
                self._saved_fd = None
            if self._saved_fd is not None:
                os.dup2(sink.fileno(), 2)
            self._saved_stderr = sys.stderr
            sys.stderr = sink

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._sink is None:
                return
            self._sink.flush()
            if self._saved_stderr is not None:
                sys.stderr = self._saved_stderr
            if self._saved_fd is not None:
                os.dup2(self._saved_fd, 2)
                os.close(self._saved_fd)
            self._sink.close()
            self._sink = self._saved_fd = self._saved_stderr = None


_STDERR = _StderrRedirect()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send stderr, ours and the connector subprocesses', to a log file while PyAirbyte runs.

    PyAirbyte prints install progress and connector errors with rich, and connectors inherit our stderr for
    noise such as nltk's `[nltk_data] Error loading …`. Users get our one-line ConnectorError instead.
    """
    _STDERR.enter()
    try:
        yield
    finally:
        _STDERR.leave()


@contextlib.contextmanager
def _connector_errors(
    connector: str, config: Mapping[str, Any], reported: Sequence[str] = (), *, installing: bool = False
) -> Iterator[None]:
    """Turn whatever PyAirbyte or a connector raises into one ConnectorError line without secret values."""
    try:
        yield
    except ConnectorError:
        raise
    except Exception as exc:  # every failure becomes a ConnectorError: the CLI must never show a traceback
        raise ConnectorError(_failure_message(connector, exc, config, reported, installing=installing)) from None


def _failure_message(
    connector: str, exc: BaseException, config: Mapping[str, Any], reported: Sequence[str], *, installing: bool
) -> str:
    reason = _failure_reason(exc, reported)
    if installing:
        reason = f"could not install airbyte-{connector}=={PINNED.get(connector, '?')} from PyPI: {reason}"
    # Callers already say what failed ("customers: check failed: …"); we add the connector and its reason.
    message = f"{connector}: {_one_line(_scrub(reason, config))}"
    log_file = getattr(exc, "log_file", None)
    return f"{message} (connector log: {log_file})" if log_file else message


def _failure_reason(exc: BaseException, reported: Sequence[str]) -> str:
    if reported:
        return reported[-1]
    context = getattr(exc, "context", None) or {}
    if isinstance(context, Mapping) and context.get("failure_reason"):
        return str(context["failure_reason"])
    if isinstance(context, Mapping) and context.get("error_message"):  # config validation
        return str(context["error_message"])
    cause = exc.__cause__ or getattr(exc, "original_exception", None)
    log_text = getattr(cause, "log_text", None) or getattr(exc, "log_text", None)
    if isinstance(log_text, list):
        log_text = "\n".join(str(line) for line in log_text)
    if isinstance(log_text, str) and log_text.strip():
        return _installer_reason(log_text)
    text = getattr(exc, "message", None) or getattr(exc, "guidance", None) or str(exc)
    return f"{type(exc).__name__}: {text}" if not getattr(exc, "message", None) else str(text)


def _installer_reason(log_text: str) -> str:
    """From uv's (`× No solution found …`) or pip's (`ERROR: …`) output, the error and what follows it."""
    lines = [line.strip().lstrip("╰─▶ ") for line in log_text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith(("×", "error:", "ERROR:")):
            return " ".join(lines[index:]).lstrip("× ")
    return lines[-1]


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 1] + "…"


def _secret_candidates(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        # Connectors quote values reshaped (source-file turns http:// into https://), so hide the pieces too.
        decoded = unquote(value)
        after_scheme = decoded.partition("://")[2] or decoded
        for piece in (value, decoded, after_scheme, *_VALUE_SEPARATORS.split(after_scheme)):
            if len(piece) > 3:
                yield piece
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _secret_candidates(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _secret_candidates(item)


def _scrub(text: str, config: Mapping[str, Any]) -> str:
    """Connector text may quote any config value, and we cannot tell which are secret: hide them all."""
    for value in sorted(set(_secret_candidates(config)), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


# ── source-file specifics: local paths and one stream per Excel sheet ────────────────────────────────────────────


@dataclass(frozen=True)
class _Run:
    """One connector invocation: the stream it yields and the config that makes it yield that stream."""

    stream: str
    config: dict[str, Any]


def _local_path(config: Mapping[str, Any]) -> Path | None:
    provider = config.get("provider")
    storage = provider.get("storage") if isinstance(provider, Mapping) else None
    url = config.get("url")
    if not isinstance(url, str) or not isinstance(storage, str) or storage.lower() != "local":
        return None
    return Path(url[len("file://") :] if url.startswith("file://") else url)


def _reader_options(config: Mapping[str, Any]) -> dict[str, Any]:
    raw = config.get("reader_options") or "{}"
    try:
        options = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except (ValueError, TypeError):
        options = None
    if not isinstance(options, dict):
        raise ConnectorError('source-file: reader_options must be a JSON object, e.g. \'{"sep": ","}\'')
    return options


def sheet_stream_name(sheet: str) -> str:
    """`Order Lines` and `OrderLines` both become `order_lines`: stream names are lower snake case."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", sheet.strip())
    return re.sub(r"\W+", "_", spaced.lower()).strip("_") or "sheet"


def _workbook_sheets(path: Path) -> dict[str, bool]:
    """Worksheet titles in workbook order, each with whether it holds any value at all."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for "not an xlsx"
        raise ConnectorError(f"cannot open {path} as an Excel workbook (.xlsx): {type(exc).__name__}") from None
    try:
        return {
            ws.title: any(v is not None for row in ws.iter_rows(values_only=True) for v in row)
            for ws in book.worksheets
        }
    finally:
        book.close()


def _choose_sheets(path: Path, available: dict[str, bool], wanted: Sequence[str] | None) -> list[str]:
    if wanted is None:
        # A blank sheet (Excel's default "Sheet1") would make source-file fail the whole workbook.
        chosen = [title for title, has_values in available.items() if has_values]
        if not chosen:
            raise ConnectorError(f"{path}: every sheet is empty")
        return chosen
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ConnectorError(
            f"{path}: no sheet named {', '.join(map(repr, missing))}; available: {', '.join(map(repr, available))}"
        )
    empty = [name for name in wanted if not available[name]]
    if empty:
        raise ConnectorError(f"{path}: sheet {', '.join(map(repr, empty))} is empty")
    return list(dict.fromkeys(wanted))


def _copy_sheets(path: Path, sheets: Sequence[str], folder: Path) -> dict[str, Path]:
    """Write each sheet into a workbook of its own.

    source-file 0.5.39 reads xlsx with its own openpyxl loop that ignores `sheet_name` and concatenates every
    sheet into one stream, so a workbook holding only that sheet is the one way to get a stream per sheet.
    """
    from openpyxl import Workbook, load_workbook

    copies: dict[str, Path] = {}
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        for index, sheet in enumerate(sheets):
            out = Workbook(write_only=True)
            target = out.create_sheet(title=sheet)
            for row in book[sheet].iter_rows(values_only=True):
                target.append(row)
            copies[sheet] = folder / f"sheet-{index}.xlsx"
            out.save(copies[sheet])
    finally:
        book.close()
    return copies


@contextlib.contextmanager
def _file_runs(
    config: Mapping[str, Any],
    sheets: Sequence[str] | None,
    *,
    only_stream: str | None = None,
    first_only: bool = False,
) -> Iterator[list[_Run]]:
    """The connector runs that together give source-file's streams for `config`: one, or one per Excel sheet."""
    path = _local_path(config)
    if path is not None and not path.is_file():
        raise ConnectorError(f"file not found: {path}")
    is_excel = config.get("format") == "excel"
    if not is_excel or path is None:
        if sheets is not None:
            raise ConnectorError("sheets can only be chosen for a local Excel workbook (provider.storage: local)")
        yield [_Run(str(config.get("dataset_name", "")), dict(config))]
        return
    available = _workbook_sheets(path)
    chosen = _choose_sheets(path, available, sheets)
    names = {sheet: sheet_stream_name(sheet) for sheet in chosen}
    clashes = sorted({n for n in names.values() if list(names.values()).count(n) > 1})
    if clashes:
        raise ConnectorError(f"{path}: several sheets become the stream name {clashes[0]!r}; rename one")
    if only_stream is not None:
        chosen = [sheet for sheet in chosen if names[sheet] == only_stream]
        if not chosen:
            raise ConnectorError(f"{path}: no sheet gives stream {only_stream!r}; streams: {sorted(names.values())}")
    if first_only:
        chosen = chosen[:1]
    options = _reader_options(config)
    with tempfile.TemporaryDirectory(prefix="bmad-gitops-sheets-") as folder:
        copies = _copy_sheets(path, chosen, Path(folder))
        yield [
            _Run(
                names[sheet],
                {
                    **config,
                    "dataset_name": names[sheet],
                    "url": str(copies[sheet]),
                    "reader_options": json.dumps({**options, "sheet_name": sheet}, sort_keys=True),
                },
            )
            for sheet in chosen
        ]


# ── the backend ──────────────────────────────────────────────────────────────────────────────────────────────────


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


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if not key.startswith("_airbyte_")}


class PyAirbyteBackend:
    """One pinned PyAirbyte connector.

    It keeps its PyAirbyte sources by config, so a read after a discover of the same config skips a second
    discovery (about 4 s per connector start).
    """

    def __init__(self, connector: str) -> None:
        pinned_version(connector)  # fail now on a connector we cannot run
        self.connector = connector
        self._sources: dict[str, tuple[Source, list[str]]] = {}

    def version(self) -> str:
        return ensure_installed(self.connector)

    def spec(self) -> dict[str, Any]:
        """The connector's `connectionSpecification`, as its `spec` command prints it."""
        return dict(self._each({}, [_Run("", {})], lambda source: dict(source.config_spec))[0])

    def check(self, config: Mapping[str, Any]) -> None:
        # For a workbook one sheet is enough: the connector opens every sheet the same way.
        with self._runs(config, None, first_only=True) as runs:
            self._each(config, runs, lambda source: source.check())

    def discover(self, config: Mapping[str, Any], *, sheets: Sequence[str] | None = None) -> Catalog:
        with self._runs(config, sheets) as runs:
            found = self._each(config, runs, lambda source: list(source.discovered_catalog.streams), fresh=True)
        return _catalog(stream for streams in found for stream in streams)

    def read(
        self, config: Mapping[str, Any], stream: str, limit: int, *, sheets: Sequence[str] | None = None
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
            return [_plain(row) for row in rows]

        with self._runs(config, sheets, only_stream=stream) as runs:
            (rows,) = self._each(config, runs, records)
        return list(rows)

    @contextlib.contextmanager
    def _runs(
        self,
        config: Mapping[str, Any],
        sheets: Sequence[str] | None,
        *,
        only_stream: str | None = None,
        first_only: bool = False,
    ) -> Iterator[list[_Run]]:
        if self.connector != "source-file":
            if sheets is not None:
                raise ConnectorError(f"sheets apply to Excel files read by source-file, not {self.connector}")
            yield [_Run("", dict(config))]
            return
        with (
            _connector_errors(self.connector, config),
            _file_runs(config, sheets, only_stream=only_stream, first_only=first_only) as runs,
        ):
            yield runs

    def _each(
        self, config: Mapping[str, Any], runs: list[_Run], call: Callable[[Source], T], *, fresh: bool = False
    ) -> list[T]:
        """`call(source)` for each run; several runs go in parallel threads, each a separate connector process.

        `fresh` drops the sources kept for these runs, and with them the catalogs they discovered before.
        """
        ensure_installed(self.connector)
        _load_airbyte()  # here, not in the worker threads: the import swaps warning filters, which is not thread-safe
        key = json.dumps(config, sort_keys=True, default=str)
        with _quiet_stderr():
            if len(runs) == 1:
                return [self._call(key, runs[0], call, fresh)]
            with ThreadPoolExecutor(max_workers=min(len(runs), 4)) as pool:
                return list(pool.map(lambda run: self._call(key, run, call, fresh), runs))

    def _call(self, key: str, run: _Run, call: Callable[[Source], T], fresh: bool) -> T:
        # Keyed by the caller's config: a sheet's copy lives in a new temporary folder on every call.
        slot = f"{key}#{run.stream}"
        kept = None if fresh else self._sources.get(slot)
        if kept is None:
            with _connector_errors(self.connector, run.config):
                created = _get_source(self.connector, run.config)
            kept = self._sources[slot] = (created, _record_connector_errors(created))
        source, reported = kept
        reported.clear()
        with _connector_errors(self.connector, run.config, reported):
            source.set_config(run.config, validate=False)
            return call(source)
