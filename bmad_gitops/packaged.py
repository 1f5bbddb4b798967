"""Files shipped inside the package (schemas, connector specs, templates), found the same way when installed.

A plain path next to this module: importlib.resources would cost every `validate` run tens of milliseconds,
and the package is always installed as files (a wheel or an editable install), never zipped.
"""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent


def packaged(*parts: str) -> Path:
    return _ROOT.joinpath(*parts)
