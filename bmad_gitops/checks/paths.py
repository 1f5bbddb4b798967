"""Local file URLs must exist and stay inside the project root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..diagnostics import Finding
from ..localpaths import local_file_path


def path_findings(data: dict[str, Any], root: Path) -> list[Finding]:
    if data.get("type") != "file":
        return []
    config = data.get("config")
    url = config.get("url") if isinstance(config, dict) else None
    if not isinstance(url, str) or "${" in url:
        return []
    where = ("config", "url")
    target = local_file_path(url, root)
    if target is None:
        return [
            Finding(
                "BG401",
                where,
                f"'{url}' is outside the project root {root}",
                "keep data files inside the repository, for example under data/",
            )
        ]
    try:
        exists = target.is_file()
    except OSError as exc:  # a name too long for the OS, and the like
        return [
            Finding(
                "BG400",
                where,
                f"local file '{url[:80]}' cannot be checked: {exc.strerror}",
                "give a shorter, real path",
            )
        ]
    if not exists:
        return [
            Finding(
                "BG400", where, f"local file '{url}' does not exist", f"paths are relative to the project root {root}"
            )
        ]
    return []
