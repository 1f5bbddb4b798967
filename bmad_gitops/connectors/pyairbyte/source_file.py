"""source-file's shape and quirks: the friendly `format_options`, local paths, and one stream per Excel sheet.

The mapping is import-light (validate checks mapped configs against the connector's spec); openpyxl is loaded
only when a workbook is opened.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...checks.sheets import sheet_stream_name
from ...errors import ConnectorError

# seed-level format_options key -> pandas reader option that source-file passes on
_READER_OPTIONS = {
    "delimiter": "sep",
    "quote_char": "quotechar",
    "encoding": "encoding",
    "header_row": "header",
    "skip_rows": "skiprows",
}


def file_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A definition's file `config` in source-file's shape: `format_options` become the JSON string
    `reader_options`; chosen Excel sheets travel there as pandas' own `sheet_name` list."""
    out = dict(config)
    options = dict(out.pop("format_options", None) or {})
    sheets = options.pop("sheets", None)
    reader: dict[str, Any] = {
        _READER_OPTIONS[key]: value for key, value in sorted(options.items()) if key in _READER_OPTIONS
    }
    if out.get("format") == "jsonl":
        reader["lines"] = True
    if sheets:
        reader["sheet_name"] = list(sheets)
    if reader:
        out["reader_options"] = json.dumps(reader, sort_keys=True)
    return out


def file_local_paths(config: Mapping[str, Any]) -> list[str]:
    """The project-relative (or file://) path a file definition reads, as written; none for remote storage."""
    url = config.get("url")
    provider = config.get("provider")
    storage = provider.get("storage") if isinstance(provider, Mapping) else "local"
    if isinstance(url, str) and isinstance(storage, str) and storage.lower() == "local":
        return [url]
    return []


@dataclass(frozen=True)
class Run:
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
def file_runs(
    config: Mapping[str, Any],
    *,
    only_stream: str | None = None,
    first_only: bool = False,
) -> Iterator[list[Run]]:
    """The connector runs that together give source-file's streams for `config`: one, or one per Excel sheet."""
    path = _local_path(config)
    if path is not None and not path.is_file():
        raise ConnectorError(f"file not found: {path}")
    if config.get("format") != "excel" or path is None:
        yield [Run(str(config.get("dataset_name", "")), dict(config))]  # the connector judges reader_options
        return
    options = _reader_options(config)
    chosen_sheets = options.pop("sheet_name", None)
    sheets = [chosen_sheets] if isinstance(chosen_sheets, str) else chosen_sheets
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
    with tempfile.TemporaryDirectory(prefix="bmad-gitops-sheets-") as folder:
        copies = _copy_sheets(path, chosen, Path(folder))
        yield [
            Run(
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


def file_localize(config: Mapping[str, Any], absolute: Callable[[str], str]) -> dict[str, Any]:
    """The connector config with its local `url` replaced by the absolute path the engine checked."""
    out = dict(config)
    for raw in file_local_paths(config):
        out["url"] = absolute(raw)
    return out
