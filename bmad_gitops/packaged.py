"""Files shipped inside the package (schemas, connector specs, templates), found the same way when installed."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable


def packaged(*parts: str) -> Traversable:
    entry = resources.files("bmad_gitops")
    for part in parts:
        entry = entry / part
    return entry
