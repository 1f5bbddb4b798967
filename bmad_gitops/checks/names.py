"""Source names: lower snake_case file stems, an optional `name:` that agrees, no two files with one name."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, Finding
from .placeholders import is_placeholder

NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def source_name(path: Path) -> str:
    return path.name.rsplit(".", 1)[0]


def name_findings(path: Path, data: dict[str, Any]) -> list[Finding]:
    stem = source_name(path)
    found = []
    if not NAME.match(stem):
        suggestion = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_") or "my_source"
        if not suggestion[0].isalpha():
            suggestion = f"source_{suggestion}"
        found.append(
            Finding(
                "BG302",
                (),
                f"file name '{stem}' is not a valid source name",
                f"rename the file to {suggestion}{path.suffix} (lower snake_case)",
            )
        )
    declared = data.get("name")
    if isinstance(declared, str) and declared != stem and not is_placeholder(declared):
        found.append(
            Finding(
                "BG301",
                ("name",),
                f"name '{declared}' differs from the file name '{stem}'",
                f"rename the file to {declared}{path.suffix} or remove `name:`",
            )
        )
    return found


def duplicate_names(paths: Iterable[tuple[Path, str]]) -> list[Diagnostic]:
    """Two definition files with one stem (say `a.yaml` and `sub/a.yml`) would be one source twice."""
    by_name: dict[str, list[str]] = {}
    for path, display in paths:
        by_name.setdefault(source_name(path), []).append(display)
    found = []
    for name, displays in sorted(by_name.items()):
        if len(displays) > 1:
            ordered = sorted(displays)
            for display in ordered[1:]:
                found.append(
                    Diagnostic(
                        display,
                        1,
                        1,
                        "BG300",
                        f"source '{name}' is also defined in {ordered[0]}",
                        "source names are unique; rename or remove one file",
                    )
                )
    return found
