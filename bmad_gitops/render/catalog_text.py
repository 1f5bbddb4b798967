"""Views of a discovered catalog for `bmad-gitops discover`."""

from __future__ import annotations

import json

from ..catalog import Catalog


def render_catalog_text(source: str, connector: str, version: str, catalog: Catalog) -> str:
    lines = [
        f"{source} ({connector} {version}): {len(catalog.streams)} stream{'s' if len(catalog.streams) != 1 else ''}"
    ]
    for stream in catalog.streams:
        keys = f"primary key: {', '.join(stream.primary_key) or 'none'}; cursor: {', '.join(stream.cursor) or 'none'}"
        lines.append(f"  {stream.name}  ({keys}; sync modes: {', '.join(stream.sync_modes)})")
        width = max((len(c.name) for c in stream.columns), default=0)
        for column in stream.columns:
            lines.append(f"    {column.name:<{width}}  {column.type}{'' if column.nullable else '  not null'}")
    return "\n".join(lines) + "\n"


def render_catalog_json(source: str, connector: str, version: str, catalog: Catalog) -> str:
    payload = {
        "source": source,
        "connector": connector,
        "connector_version": version,
        **catalog.model_dump(mode="json"),
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"
