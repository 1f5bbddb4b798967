"""Placeholders left by `bmad-gitops new` (`<...>`) must be filled in before a definition is valid."""

from __future__ import annotations

import re
from typing import Any

from ..diagnostics import Finding

_PLACEHOLDER = re.compile(r"<[^<>\n]+>\Z")


def placeholder_finding(where: tuple[str | int, ...], value: Any) -> Finding | None:
    if isinstance(value, str) and value.startswith("<") and _PLACEHOLDER.match(value):
        return Finding("BG105", where, f"placeholder {value} is not filled in", "replace it with the real value")
    return None
