"""Views of a list of diagnostics: text for people, JSON for tools, GitHub workflow annotations for CI."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..diagnostics import Diagnostic


def render_text(diagnostics: Sequence[Diagnostic], files_checked: int) -> str:
    lines = []
    for d in diagnostics:
        lines.append(f"{d.path}:{d.line}:{d.col}: {d.severity}[{d.code}]: {d.message}")
        if d.hint:
            lines.append(f"  hint: {d.hint}")
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    if errors:
        lines.append(f"{_count(errors, 'error')}, {_count(warnings, 'warning')} in {_count(files_checked, 'file')}.")
    else:
        lines.append(
            f"{_count(files_checked, 'file')} valid" + (f", {_count(warnings, 'warning')}." if warnings else ".")
        )
    return "\n".join(lines) + "\n"


def render_json(diagnostics: Sequence[Diagnostic], files_checked: int) -> str:
    payload = {
        "valid": not any(d.severity == "error" for d in diagnostics),
        "files_checked": files_checked,
        "diagnostics": [
            {
                "path": d.path,
                "line": d.line,
                "col": d.col,
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
                "hint": d.hint,
            }
            for d in diagnostics
        ],
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def github_escape(text: str) -> str:
    """A workflow command's message, escaped as GitHub Actions reads it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    return github_escape(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: Sequence[Diagnostic], files_checked: int) -> str:
    escape, prop = github_escape, github_property
    lines = []
    for d in diagnostics:
        message = f"{d.message} (hint: {d.hint})" if d.hint else d.message
        lines.append(f"::{d.severity} file={prop(d.path)},line={d.line},col={d.col},title={d.code}::{escape(message)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


RENDERERS = {"text": render_text, "json": render_json, "github": render_github}
