"""Placeholders left by `bmad-gitops new` (`<...>`) must be filled in before a definition is valid.

A placeholder is one problem: it is reported here once (BG105), and every other check skips a value that is
still a placeholder (`is_placeholder`), so an unfilled template gives one diagnostic per `<...>`, not a
schema, path or connector-spec error on top.
"""

from __future__ import annotations

import re
from typing import Any

from ..diagnostics import Finding

_PLACEHOLDER = re.compile(r"<[^<>\n]+>\Z")


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("<") and _PLACEHOLDER.match(value) is not None


def placeholder_finding(where: tuple[str | int, ...], value: str, hint: str = "") -> Finding:
    """BG105 for a value `is_placeholder` accepted."""
    return Finding("BG105", where, f"placeholder {value} is not filled in", hint or "replace it with the real value")
