"""Feature flags in bmad-gitops.yaml's `features:` mapping; the service reads them on every request that needs one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..project import CONFIG_FILE
from .memo import Inputs

# name -> (default, what it turns on)
FEATURES: dict[str, tuple[bool, str]] = {
    "pyairbyte_integration": (False, "HTTP endpoints that run connectors (discover, read, upload suggestions, database)"),
}


def _known(name: str) -> None:
    if name not in FEATURES:
        raise UsageError(f"unknown feature '{name}'", f"known: {', '.join(sorted(FEATURES))}")


_READ: dict[Path, tuple[Inputs, dict[str, bool]]] = {}


def feature_states(root: Path) -> dict[str, bool]:
    """Every known flag with its value: the file's when set, else the default. The file is parsed again only
    when it changed (a stat per request instead of a YAML parse)."""
    from ..load import Document, read_document

    path = root / CONFIG_FILE
    inputs = Inputs.of([str(path)])
    known = _READ.get(path)
    if known is not None and known[0] == inputs and inputs.stamps[0] is not None:
        return dict(known[1])
    written: dict[str, Any] = {}
    if path.is_file():
        loaded = read_document(path, CONFIG_FILE)
        if isinstance(loaded, Document) and isinstance(loaded.data.get("features"), dict):
            written = loaded.data["features"]
    states = {name: bool(written.get(name, default)) for name, (default, _) in sorted(FEATURES.items())}
    if inputs.settled(time.time_ns()):  # a stamp from the last clock tick may not show the next write
        _READ[path] = (inputs, states)
    return dict(states)


def enabled(root: Path, name: str) -> bool:
    _known(name)
    return feature_states(root)[name]


def set_feature(root: Path, name: str, value: bool) -> Path:
    """Write `features: {name: value}` into bmad-gitops.yaml, keeping its comments; create the file if needed."""
    from ..writer import update_yaml, write_definition_yaml

    _known(name)
    path = root / CONFIG_FILE
    if not path.is_file():
        return write_definition_yaml(root, path, {"features": {name: value}})

    def mutate(document: Any) -> None:
        from ruamel.yaml.comments import CommentedMap

        if not isinstance(document.get("features"), dict):
            document["features"] = CommentedMap()
        document["features"][name] = value

    return update_yaml(root, path, mutate)


DISABLED_MESSAGE = "PyAirbyte integration is disabled"
ENABLE_COMMAND = "bmad-gitops features enable pyairbyte_integration"
