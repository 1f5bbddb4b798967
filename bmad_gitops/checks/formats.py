"""A file source names its format twice (top-level `format` and `config.format`); the two must agree.

source-file reads only `config.format`, so a disagreement would surface late, as a parse error on real data.
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Finding

# top-level format -> the config.format values it covers (`json` covers one JSON document and JSON Lines)
_CONFIG_FORMATS: dict[str, tuple[str, ...]] = {"csv": ("csv",), "json": ("json", "jsonl"), "excel": ("excel",)}
_TOP_FORMAT = {config: top for top, configs in _CONFIG_FORMATS.items() for config in configs}


def format_findings(data: dict[str, Any]) -> list[Finding]:
    config = data.get("config")
    declared = data.get("format")
    actual = config.get("format") if isinstance(config, dict) else None
    allowed = _CONFIG_FORMATS.get(declared) if isinstance(declared, str) else None
    # Unknown or missing values on either side are the schema's to report.
    if allowed is None or not isinstance(actual, str) or actual not in _TOP_FORMAT or actual in allowed:
        return []
    choices = " or ".join(f"`format: {a}`" for a in allowed)
    return [
        Finding(
            "BG104",
            ("config", "format"),
            f"config.format is '{actual}' but the source's format is '{declared}'",
            f"write {choices} here, or change the top-level format to `format: {_TOP_FORMAT[actual]}`",
        )
    ]
