"""Excel sheets named in `format_options.sheets`, checked offline against the workbook's own sheet list.

An .xlsx is a zip; `xl/workbook.xml` lists the sheet titles. Reading that one member with zipfile and
ElementTree keeps validate light (no openpyxl) and fast (no cell is read). `sheet_stream_name` is the one
rule for turning a sheet title into a stream name; the connectors import it from here.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

from ..diagnostics import Finding
from .placeholders import is_placeholder

# workbook.xml lists sheets and a few settings: a few kB even for big workbooks. Anything far larger is not a
# workbook worth parsing in a pre-commit hook.
_MAX_WORKBOOK_XML = 4 * 1024 * 1024


def sheet_stream_name(sheet: str) -> str:
    """`Order Lines` and `OrderLines` both become `order_lines`: stream names are lower snake case."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", sheet.strip())
    return re.sub(r"\W+", "_", spaced.lower()).strip("_") or "sheet"


def workbook_sheet_titles(path: Path) -> list[str] | None:
    """Sheet titles in workbook order, or None when `path` cannot be read as an .xlsx (the connector says why).

    Many definitions share a workbook: it is read once per (path, size, mtime).
    """
    try:
        info = os.stat(path)
    except OSError:
        return None
    titles = _titles(str(path), info.st_size, info.st_mtime_ns)
    return list(titles) if titles is not None else None


@functools.lru_cache(maxsize=64)
def _titles(path: str, size: int, mtime_ns: int) -> tuple[str, ...] | None:
    found = _read_titles(Path(path))
    return tuple(found) if found is not None else None


def _read_titles(path: Path) -> list[str] | None:
    import zipfile  # only when a definition names a workbook: validate's usual run never pays for these imports
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(path) as book:
            info = book.getinfo("xl/workbook.xml")
            if info.file_size > _MAX_WORKBOOK_XML:
                return None
            with book.open(info) as member:
                raw = member.read(_MAX_WORKBOOK_XML + 1)
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError):
        return None
    if len(raw) > _MAX_WORKBOOK_XML or b"<!DOCTYPE" in raw:  # no DTD: no entity expansion to fear
        return None
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError:
        return None
    # Match on local names: transitional and strict OOXML use different namespaces for the same elements.
    return [
        str(node.get("name"))
        for sheets in root
        if _local(sheets.tag) == "sheets"
        for node in sheets
        if _local(node.tag) == "sheet" and node.get("name")
    ]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def sheet_findings(data: dict[str, Any], workbook: Path, url: str) -> list[Finding]:
    """BG104 for each listed sheet the workbook lacks, with the title to write when it was given as a stream name."""
    config = data.get("config")
    options = config.get("format_options") if isinstance(config, dict) else None
    wanted = options.get("sheets") if isinstance(options, dict) else None
    if not isinstance(wanted, list) or not wanted:
        return []
    titles = workbook_sheet_titles(workbook)
    if titles is None:
        return []
    by_stream = {sheet_stream_name(t): t for t in titles}
    found = []
    for position, sheet in enumerate(wanted):
        if not isinstance(sheet, str) or sheet in titles or is_placeholder(sheet):
            continue
        meant = by_stream.get(sheet_stream_name(sheet))
        where = ("config", "format_options", "sheets", position)
        if meant is not None:
            message = f"sheet '{sheet}' not in {url}; write '{meant}'"
            hint = f"sheets are named by their title in the workbook; '{meant}' becomes stream '{sheet_stream_name(meant)}'"
        else:
            message = f"sheet '{sheet}' not in {url}"
            hint = "sheets in the workbook: " + (", ".join(f"'{t}'" for t in titles) or "none")
        found.append(Finding("BG104", where, message, hint))
    return found
