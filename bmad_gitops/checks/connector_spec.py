"""Check the mapped config against the connector's own vendored spec (`schemas/connectors/<connector>.json`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from ..connectors.registry import find_entry
from ..diagnostics import Finding
from ..packaged import packaged


@cache
def _spec_validator(connector: str) -> Callable[[Any], Any] | None:
    from ..compiled import compiled_validator

    entry = packaged("schemas", "connectors", f"{connector}.json")
    if not entry.is_file():
        return None
    return compiled_validator(connector, entry.read_text(encoding="utf-8"))


def warm_spec_validators() -> None:
    """Load every vendored spec's validator now, before validate forks its workers."""
    for entry in sorted(packaged("schemas", "connectors").glob("*.json")):
        _spec_validator(entry.stem)


def connector_spec_findings(data: dict[str, Any]) -> list[Finding]:
    """Run only on a definition that passed our own schema, so the mapping can trust its shape."""
    import fastjsonschema

    connector = str(data.get("connector"))
    known = find_entry(connector)
    validate = _spec_validator(connector)
    if validate is None or known is None:
        return []
    try:
        validate(known.map_config(data.get("config") or {}))
    except fastjsonschema.JsonSchemaException as exc:
        name = str(getattr(exc, "name", "") or "")
        field = name.removeprefix("data").lstrip(".").split(".")[0]
        where: tuple[str | int, ...] = (
            ("config", field) if field and field in (data.get("config") or {}) else ("config",)
        )
        message = str(getattr(exc, "message", exc)).replace("data.", "").replace("data ", "config ")
        return [
            Finding(
                "BG110",
                where,
                f"{connector} rejects this config: {message}",
                f"see schemas/connectors/{connector}.json for what the connector accepts",
            )
        ]
    return []
