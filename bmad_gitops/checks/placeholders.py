"""Placeholders left by `bmad-gitops new` (`<...>`) must be filled in before a definition is valid."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..diagnostics import Finding

_PLACEHOLDER = re.compile(r"<[^<>\n]+>\Z")


def placeholder_findings(data: dict[str, Any]) -> list[Finding]:
    return list(_walk(data, ()))


def _walk(value: Any, where: tuple[str | int, ...]) -> Iterator[Finding]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _walk(sub, (*where, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _walk(sub, (*where, index))
    elif isinstance(value, str) and value.startswith("<") and _PLACEHOLDER.match(value):
        yield Finding("BG105", where, f"placeholder {value} is not filled in", "replace it with the real value")
