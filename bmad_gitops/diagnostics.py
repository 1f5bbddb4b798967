"""Diagnostics: the one value every check returns, and the stable codes they carry.

Codes never change meaning once published; the README's table is generated from `CODES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

# code -> (severity, short title). Grouped by hundreds: 0xx reading, 1xx schema, 2xx secrets, 3xx names,
# 4xx paths, 5xx stories.
CODES: dict[str, tuple[Severity, str]] = {
    "BG001": ("error", "YAML syntax error"),
    "BG002": ("error", "tab character in indentation"),
    "BG003": ("error", "duplicate key"),
    "BG004": ("error", "empty file"),
    "BG005": ("error", "more than one YAML document"),
    "BG006": ("error", "not UTF-8 text (binary or wrongly encoded file)"),
    "BG007": ("error", "file too large"),
    "BG008": ("error", "nesting too deep"),
    "BG009": ("error", "aliases expand too far (alias bomb)"),
    "BG010": ("error", "top level is not a mapping"),
    "BG011": ("error", "file cannot be read"),
    "BG012": ("warning", "value read differently by YAML 1.1 and YAML 1.2"),
    "BG101": ("error", "unknown key"),
    "BG102": ("error", "missing required key"),
    "BG103": ("error", "wrong type"),
    "BG104": ("error", "invalid value"),
    "BG105": ("error", "placeholder not filled in"),
    "BG110": ("error", "config rejected by the connector's own spec"),
    "BG200": ("error", "plaintext secret"),
    "BG201": ("error", "malformed environment variable reference"),
    "BG300": ("error", "duplicate source name"),
    "BG301": ("error", "name differs from file name"),
    "BG302": ("error", "file name is not a valid source name"),
    "BG400": ("error", "local file does not exist"),
    "BG401": ("error", "path escapes the project root"),
    "BG500": ("error", "unknown story id"),
    "BG501": ("warning", "story id matches more than one story file"),
    "BG502": ("warning", "story cites an unknown source"),
}


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place. `line` and `col` are 1-based."""

    path: str
    line: int
    col: int
    code: str
    message: str
    hint: str = field(default="", compare=False)

    @property
    def severity(self) -> Severity:
        return CODES[self.code][0]


@dataclass(frozen=True)
class Finding:
    """A problem found on plain data, placed by its key path; `locate` turns it into a Diagnostic.

    `at` says which part of the node the problem is about: the key itself or its value.
    """

    code: str
    where: tuple[str | int, ...]
    message: str
    hint: str = ""
    at: Literal["key", "value"] = "value"
