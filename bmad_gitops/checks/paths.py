"""File sources: the local file must exist and stay inside the project root, and what the definition says
about the file must agree with itself (the two format keys) and with the file (Excel sheet names).

`path_findings` is validate's one entry point for these checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..diagnostics import Finding
from ..localpaths import local_file_path
from .formats import format_findings
from .placeholders import is_placeholder
from .sheets import sheet_findings


def path_findings(data: dict[str, Any], root: Path) -> list[Finding]:
    if data.get("type") != "file":
        return []
    found = format_findings(data)
    config = data.get("config")
    url = config.get("url") if isinstance(config, dict) else None
    if not isinstance(url, str) or "${" in url or is_placeholder(url):
        return found
    where = ("config", "url")
    target = local_file_path(url, root)
    if target is None:
        return [
            *found,
            Finding(
                "BG401",
                where,
                f"'{url}' is outside the project root {root}",
                "keep data files inside the repository, for example under data/",
            ),
        ]
    try:
        exists = target.is_file()
    except OSError as exc:  # a name too long for the OS, and the like
        return [
            *found,
            Finding(
                "BG400",
                where,
                f"local file '{url[:80]}' cannot be checked: {exc.strerror}",
                "give a shorter, real path",
            ),
        ]
    if not exists:
        return [
            *found,
            Finding(
                "BG400", where, f"local file '{url}' does not exist", f"paths are relative to the project root {root}"
            ),
        ]
    if isinstance(config, dict) and config.get("format") == "excel":
        found += sheet_findings(data, target, url)
    return found
